import type { RobotsFetchResult } from '../fetcher/robots.js';
import type { SharedFrontier } from './shared-frontier.js';

/** How long a fetched robots.txt is trusted by the whole crawl: a day, as RFC 9309 suggests. */
const ANSWERED_TTL_MS = 86_400_000;
/** A 5xx or 429 answer: RFC 9309's complete disallow, asked again after this (as RobotsCache does). */
const UNAVAILABLE_TTL_MS = 30_000;
const LOCK_MS = 30_000;
const POLL_MS = 100;

/** Fetches an origin's robots.txt (given `load`), or has the answer another process fetched. */
export type SharedRobots = (
  origin: string,
  load: () => Promise<RobotsFetchResult>,
) => Promise<RobotsFetchResult>;

/**
 * robots.txt fetched once per origin for the whole crawl: the first process to need it takes a
 * lock and fetches it, the others wait for the answer in Redis. Only HTTP answers are shared; a
 * host that did not answer at all is asked again by whoever needs it next. Every process parses
 * the same file, so they all keep the same rules and the same Crawl-delay.
 */
export function shareRobots(shared: SharedFrontier): SharedRobots {
  return async (origin, load) => {
    const key = shared.key(`robots:${origin}`);
    const lock = shared.key(`robots-lock:${origin}`);
    for (;;) {
      const cached = await shared.link.run((client) => client.get(key));
      if (cached) return JSON.parse(cached) as RobotsFetchResult;
      const taken = await shared.link.run((client) =>
        client.set(lock, shared.processId, { condition: 'NX', expiration: { type: 'PX', value: LOCK_MS } }),
      );
      if (taken === 'OK') return fetchAndShare(shared, key, lock, load);
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
  };
}

async function fetchAndShare(
  shared: SharedFrontier,
  key: string,
  lock: string,
  load: () => Promise<RobotsFetchResult>,
): Promise<RobotsFetchResult> {
  try {
    const result = await load();
    if ('status' in result) {
      const answered = result.status < 500 && result.status !== 429;
      const ttl = answered ? ANSWERED_TTL_MS : UNAVAILABLE_TTL_MS;
      await shared.link.run((client) =>
        client.set(key, JSON.stringify(result), { expiration: { type: 'PX', value: ttl } }),
      );
    }
    return result;
  } finally {
    await shared.link.run((client) => client.del(lock)).catch(() => undefined);
  }
}
