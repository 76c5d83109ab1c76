import type { Item, StoredItem } from '../../src/index.js';

/** Items as the crawl hands them to sinks, keyed `k0000`, `k0001`, ... from `first` on. */
export function records(items: Item[], first = 0, spider = 'test'): StoredItem[] {
  return items.map((item, i) => ({
    key: `k${String(first + i).padStart(4, '0')}`,
    url: typeof item.url === 'string' ? item.url : 'http://127.0.0.1/',
    spider,
    scrapedAt: Date.UTC(2026, 0, 1) + first + i,
    item,
  }));
}
