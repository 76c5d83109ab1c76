/**
 * The demo's product shop, shaped like a WooCommerce store (the scrapingcourse.com/ecommerce
 * demo): paginated product grids, product pages that carry their data as schema.org JSON-LD (even
 * ids) or as microdata only (odd ids), and a paginated JSON API shaped like dummyjson.com's.
 */
import { type Answer, type DemoRequest, escapeHtml, json } from './answer.js';

export interface DemoProduct {
  id: number;
  slug: string;
  name: string;
  sku: string;
  price: number;
  currency: string;
  inStock: boolean;
  category: string;
}

const PRODUCTS_PER_PAGE = 8;
const NAMES = ['Hoodie', 'Tee', 'Jacket', 'Cap', 'Backpack', 'Mug'];
const COLOURS = ['Abominable', 'Argus', 'Atlas', 'Breathe', 'Chaz', 'Circe'];

export function demoProducts(count = 24): DemoProduct[] {
  return Array.from({ length: count }, (_, i) => {
    const id = i + 1;
    const name = `${COLOURS[i % COLOURS.length]} ${NAMES[Math.floor(i / COLOURS.length) % NAMES.length]} ${id}`;
    return {
      id,
      slug: name.toLowerCase().replaceAll(' ', '-'),
      name,
      sku: `MJ${String(id * 37).padStart(4, '0')}`,
      price: Math.round((19 + ((id * 7.3) % 60)) * 100) / 100,
      currency: 'USD',
      inStock: id % 5 !== 0,
      category: NAMES[Math.floor(i / COLOURS.length) % NAMES.length]!,
    };
  });
}

const layout = (title: string, body: string) =>
  `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)} – Trawl Shop</title>${''}</head><body class="woocommerce"><main id="main">${body}</main></body></html>`;

export function productGrid(products: DemoProduct[], n: number): Answer {
  const pages = Math.ceil(products.length / PRODUCTS_PER_PAGE);
  if (!Number.isInteger(n) || n < 1 || n > pages) return { status: 404 };
  const cards = products.slice((n - 1) * PRODUCTS_PER_PAGE, n * PRODUCTS_PER_PAGE).map(
    (p) => `<li class="product"><a href="/shop/product/${p.slug}/" class="woocommerce-LoopProduct-link">
<h2 class="woocommerce-loop-product__title">${escapeHtml(p.name)}</h2><span class="price">$${p.price.toFixed(2)}</span></a></li>`,
  );
  const next = n < pages ? `<a class="next page-numbers" href="/shop/page/${n + 1}/">→</a>` : '';
  return {
    status: 200,
    body: layout(
      `Shop – page ${n}`,
      `<ul class="products columns-4">${cards.join('\n')}</ul><nav class="woocommerce-pagination">${next}</nav>`,
    ),
  };
}

const availability = (p: DemoProduct) => `https://schema.org/${p.inStock ? 'InStock' : 'OutOfStock'}`;

function jsonLd(p: DemoProduct, origin: string): string {
  // As WooCommerce writes it: a @graph with a breadcrumb and the product, offers as an array.
  const data = {
    '@context': 'https://schema.org/',
    '@graph': [
      { '@type': 'BreadcrumbList', itemListElement: [{ '@type': 'ListItem', position: 1, name: 'Shop' }] },
      {
        '@type': 'Product',
        '@id': `${origin}/shop/product/${p.slug}/#product`,
        name: p.name,
        sku: p.sku,
        offers: [
          {
            '@type': 'Offer',
            price: p.price.toFixed(2),
            priceCurrency: p.currency,
            availability: availability(p),
          },
        ],
      },
    ],
  };
  return `<script type="application/ld+json">${JSON.stringify(data).replaceAll('/', '\\/')}</script>`;
}

function microdata(p: DemoProduct): string {
  return `<div itemscope itemtype="https://schema.org/Product"><h1 itemprop="name">${escapeHtml(p.name)}</h1>
<p>SKU: <span itemprop="sku">${p.sku}</span></p>
<div itemprop="offers" itemscope itemtype="https://schema.org/Offer"><span itemprop="price" content="${p.price.toFixed(2)}">$${p.price.toFixed(2)}</span>
<meta itemprop="priceCurrency" content="${p.currency}"><link itemprop="availability" href="${availability(p)}"></div></div>`;
}

export function productPage(products: DemoProduct[], slug: string, origin: string): Answer {
  const p = products.find((x) => x.slug === slug);
  if (!p) return { status: 404 };
  const body =
    p.id % 2 === 0
      ? `${jsonLd(p, origin)}<div class="product"><h1 class="product_title">${escapeHtml(p.name)}</h1><p class="price">$${p.price.toFixed(2)}</p></div>`
      : microdata(p);
  return { status: 200, body: layout(p.name, body) };
}

/** `/api/products?limit=&skip=`, answered as dummyjson.com answers it. */
export function productsApi(products: DemoProduct[], req: DemoRequest): Answer {
  const limit = Number(req.query.get('limit') ?? '10');
  const skip = Number(req.query.get('skip') ?? '0');
  if (!Number.isInteger(limit) || !Number.isInteger(skip) || limit < 1 || skip < 0)
    return json({ message: 'limit and skip must be whole numbers' }, 400);
  const slice = products.slice(skip, skip + limit).map((p) => ({
    id: p.id,
    title: p.name,
    price: p.price,
    sku: p.sku,
    category: p.category,
    availabilityStatus: p.inStock ? 'In Stock' : 'Out of Stock',
  }));
  return json({ products: slice, total: products.length, skip, limit });
}
