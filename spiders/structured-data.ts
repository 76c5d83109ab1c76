/**
 * Product data read from the structured data shops embed for search engines rather than from
 * their markup, which changes with every theme. Shows: schema.org JSON-LD (`<script
 * type="application/ld+json">`, also inside an `@graph`) and, where a page has none, microdata
 * (`itemscope`/`itemprop`), read into the same item; grid pagination with `followAll`. Modelled on
 * a WooCommerce store, the scrapingcourse.com e-commerce demo:
 *
 *   trawl crawl spiders/structured-data.ts --start https://www.scrapingcourse.com/ecommerce/ -o products.jsonl
 *   trawl demo --serve   # then --start http://127.0.0.1:PORT/shop/
 */
import type { CheerioAPI } from 'cheerio';
import { defineSpider } from 'trawl';

type Json = Record<string, unknown>;

/** Every JSON-LD node of the page, with `@graph` lists and top-level arrays flattened. */
function jsonLdNodes($: CheerioAPI): Json[] {
  const nodes: Json[] = [];
  for (const script of $('script[type="application/ld+json"]').toArray()) {
    let data: unknown;
    try {
      data = JSON.parse($(script).text());
    } catch {
      continue; // a broken block is common; the microdata may still be there
    }
    const queue = Array.isArray(data) ? data : [data];
    for (const node of queue) {
      if (!node || typeof node !== 'object') continue;
      nodes.push(node as Json);
      const graph = (node as Json)['@graph'];
      if (Array.isArray(graph)) queue.push(...graph);
    }
  }
  return nodes;
}

const isType = (node: Json, type: string) =>
  [node['@type']].flat().some((t) => typeof t === 'string' && t.replace(/^.*[/#]/, '') === type);

/** A microdata item's properties by the HTML standard: content, href/src, datetime, or text. */
function microdataItem($: CheerioAPI, scope: ReturnType<CheerioAPI>): Json {
  const item: Json = { '@type': scope.attr('itemtype') ?? '' };
  scope.find('[itemprop]').each((_, element) => {
    const el = $(element);
    // Only the properties of this item, not those of an item nested in it.
    if (!el.parent().closest('[itemscope]').is(scope)) return;
    const name = el.attr('itemprop')!;
    item[name] =
      el.attr('itemscope') !== undefined
        ? microdataItem($, el)
        : (el.attr('content') ??
          el.attr('href') ??
          el.attr('src') ??
          el.attr('datetime') ??
          el.text().trim());
  });
  return item;
}

const schemaName = (value: unknown) => (typeof value === 'string' ? value.replace(/^.*[/#]/, '') : undefined);

export default defineSpider({
  name: 'structured-data',
  startUrls: ['https://www.scrapingcourse.com/ecommerce/'],
  settings: { perHost: { concurrency: 4 } },

  contracts: {
    parse: { url: 'https://www.scrapingcourse.com/ecommerce/', minRequests: 8 },
    product: { minItems: 1, maxItems: 1, fields: ['name', 'sku', 'price', 'currency', 'availability'] },
  },

  *parse(page) {
    yield* page.followAll('li.product a.woocommerce-LoopProduct-link', 'product');
    const next = page.$('a.next.page-numbers').attr('href');
    if (next) yield page.follow(next);
  },

  *product(page) {
    const $ = page.$;
    let product = jsonLdNodes($).find((node) => isType(node, 'Product'));
    let source = 'json-ld';
    if (!product) {
      const scope = $('[itemscope][itemtype$="schema.org/Product"]').first();
      if (scope.length === 0) throw new Error(`no schema.org Product on ${page.url}`);
      product = microdataItem($, scope);
      source = 'microdata';
    }
    const offer = [product.offers].flat()[0] as Json | undefined;
    yield {
      url: page.url,
      name: String(product.name ?? '').trim(),
      sku: product.sku === undefined ? undefined : String(product.sku),
      price: offer?.price === undefined ? undefined : Number(offer.price),
      currency: offer?.priceCurrency,
      availability: schemaName(offer?.availability),
      source,
    };
  },
});
