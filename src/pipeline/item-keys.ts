import type { Spider } from '../spider.js';
import type { CrawlRequest, Item } from '../types.js';
import type { CrawlEvents } from './events.js';

/**
 * The key each item is stored under: the spider's `itemKey(item)` when it has one, else the
 * request fingerprint and the item's index on its page. Both are the same when a page is crawled
 * again, so an output that upserts by key keeps one row per item however often it is delivered.
 */
export class ItemKeys {
  readonly spider: string;
  private readonly itemKey: ((item: Item) => unknown) | undefined;
  private warned = false;

  constructor(
    spider: Spider,
    private readonly events: CrawlEvents,
  ) {
    this.spider = spider.name;
    this.itemKey = typeof spider.itemKey === 'function' ? spider.itemKey : undefined;
  }

  keyOf(item: Item, request: CrawlRequest, index: number): string {
    if (this.itemKey) {
      try {
        const key = this.itemKey(item);
        if ((typeof key === 'string' && key !== '') || typeof key === 'number') return String(key);
        this.warnOnce(request, `returned ${key === '' ? 'an empty string' : typeof key}`);
      } catch (error) {
        this.warnOnce(request, `threw: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
    return `${request.fingerprint}:${index}`;
  }

  private warnOnce(request: CrawlRequest, what: string): void {
    if (this.warned) return;
    this.warned = true;
    this.events.emit('log', {
      level: 'warn',
      message: `${this.spider}.itemKey ${what}; items without a key are keyed by page and position (warned once)`,
      url: request.url,
    });
  }
}
