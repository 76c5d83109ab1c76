// The spider bench/parser.bench.mjs crawls: an index of listing pages, each ~300 KB of product
// cards, scraped with many CSS queries per card (a deliberately selector-heavy callback).
import { readFileSync } from 'node:fs';

/** CPU time of the calling thread in ms (Linux), so the bench can tell worker time from the rest. */
function threadCpuMs() {
  try {
    const stat = readFileSync('/proc/thread-self/stat', 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return undefined;
  }
}
export default {
  name: 'parser-bench',

  parse(page) {
    return page.followAll('a.listing', 'listing');
  },

  *listing(page) {
    const $ = page.$;
    for (const card of $('article.product_pod')) {
      const $card = $(card);
      yield {
        title: $card.find('h3 > a').attr('title'),
        price: Number(
          $card
            .find('div.product_price > p.price_color')
            .text()
            .replace(/[^\d.]/g, ''),
        ),
        rating: ($card.find('p.star-rating').attr('class') ?? '').replace('star-rating', '').trim(),
        inStock: $card.find('p.availability:contains("In stock")').length > 0,
        tags: $card
          .find('ul.tags > li:nth-child(odd) span')
          .map((_, t) => $(t).text())
          .get(),
        image: $card.find('div.image_container img[src$=".jpg"]').attr('src'),
      };
    }
    yield {
      url: page.url,
      links: page.links('article.product_pod h3').length,
      breadcrumb: $('ul.breadcrumb li:not(.active) a')
        .map((_, a) => $(a).text())
        .get(),
      threadCpuMs: threadCpuMs(),
    };
  },
};
