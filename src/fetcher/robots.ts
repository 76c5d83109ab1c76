/**
 * robots.txt per RFC 9309: parse groups, pick the one for our product token, longest match wins
 * (allow on a tie), `*` and `$` patterns. `RobotsCache` fetches each origin's file once and
 * remembers the verdict, including "unavailable" for a while after a 5xx.
 */

interface Rule {
  allow: boolean;
  pattern: string;
  regex: RegExp;
}

interface Group {
  agents: string[];
  rules: Rule[];
  crawlDelayMs: number | undefined;
}

export interface RobotsRules {
  /** Whether `url` (path and query are used) may be fetched. */
  isAllowed(url: string | URL): boolean;
  /** Crawl-delay of the group that applies, in ms. */
  readonly crawlDelayMs: number | undefined;
  /** Every `Sitemap:` URL in the file, in order (they apply to all agents). */
  readonly sitemaps: readonly string[];
}

/** The agent name robots.txt groups are matched against: `trawl` for `trawl/0.1 (+...)`. */
export function productToken(userAgent: string): string {
  return (/^[A-Za-z_-]+/.exec(userAgent.trim())?.[0] ?? userAgent).toLowerCase();
}

export function parseRobots(text: string, userAgent: string): RobotsRules {
  const token = productToken(userAgent);
  const groups: Group[] = [];
  const sitemaps: string[] = [];
  let current: Group | undefined;
  let lastWasAgent = false;
  for (const raw of text.replace(/^\uFEFF/, '').split(/\r\n|\r|\n/)) {
    const entry = keyAndValue(raw.replace(/#.*$/, '').trim());
    if (!entry) continue;
    const [key, value] = entry;
    if (key === 'user-agent') {
      if (!lastWasAgent || !current) {
        current = { agents: [], rules: [], crawlDelayMs: undefined };
        groups.push(current);
      }
      // Matched by product token, as our own name is: `Trawl/1.0` names trawl.
      current.agents.push(value === '*' ? '*' : productToken(value));
      lastWasAgent = true;
      continue;
    }
    lastWasAgent = false;
    if (key === 'sitemap') {
      if (value) sitemaps.push(value);
    } else if (!current) {
      // A rule before any User-agent line belongs to no group.
    } else if (key === 'allow' || key === 'disallow') {
      // An empty Disallow allows everything; an empty Allow says nothing.
      if (value) current.rules.push(rule(key === 'allow', value));
    } else if (key === 'crawl-delay') {
      const seconds = Number(value);
      if (Number.isFinite(seconds) && seconds >= 0) current.crawlDelayMs = seconds * 1000;
    }
  }
  // All groups naming our token are merged (RFC 9309 2.2.1); otherwise the `*` groups apply.
  let chosen = groups.filter((g) => g.agents.includes(token));
  if (chosen.length === 0) chosen = groups.filter((g) => g.agents.includes('*'));
  const rules = chosen.flatMap((g) => g.rules);
  const crawlDelayMs = chosen.find((g) => g.crawlDelayMs !== undefined)?.crawlDelayMs;
  return {
    crawlDelayMs,
    sitemaps,
    isAllowed(url) {
      const target = typeof url === 'string' ? new URL(url) : url;
      const path = normalizePath(`${target.pathname}${target.search}`);
      if (target.pathname === '/robots.txt') return true;
      let best: Rule | undefined;
      for (const r of rules) {
        if (!r.regex.test(path)) continue;
        if (
          !best ||
          r.pattern.length > best.pattern.length ||
          (r.pattern.length === best.pattern.length && r.allow)
        )
          best = r;
      }
      return best ? best.allow : true;
    },
  };
}

/** Spellings of the keys that robots.txt files in the wild use, as major crawlers accept them. */
const KEYS: Record<string, string> = {
  'user-agent': 'user-agent',
  useragent: 'user-agent',
  'user agent': 'user-agent',
  allow: 'allow',
  disallow: 'disallow',
  dissallow: 'disallow',
  dissalow: 'disallow',
  disalow: 'disallow',
  diasllow: 'disallow',
  disallaw: 'disallow',
  sitemap: 'sitemap',
  'site-map': 'sitemap',
  'crawl-delay': 'crawl-delay',
};

/** A line's key (one of KEYS' values) and value; a known key may be followed by whitespace instead of a colon. */
function keyAndValue(line: string): [string, string] | undefined {
  const colon = line.indexOf(':');
  if (colon >= 0) {
    const key = KEYS[line.slice(0, colon).trim().toLowerCase().replace(/\s+/g, ' ')];
    return key ? [key, line.slice(colon + 1).trim()] : undefined;
  }
  const split = /^(\S+)\s+(\S.*)$/.exec(line);
  const key = split ? KEYS[split[1]!.toLowerCase()] : undefined;
  return key ? [key, split![2]!.trim()] : undefined;
}

function rule(allow: boolean, pattern: string): Rule {
  const normalized = normalizePath(pattern);
  const anchored = normalized.endsWith('$');
  const body = anchored ? normalized.slice(0, -1) : normalized;
  const source = body
    .split('*')
    .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
    .join('.*');
  return { allow, pattern: normalized, regex: new RegExp(`^${source}${anchored ? '$' : ''}`) };
}

/**
 * Patterns and paths are compared in one form (RFC 9309 2.2.2): characters outside printable
 * US-ASCII percent-encoded, an encoded unreserved character decoded (`%7E` is `~`), and the hex
 * of the other escapes in upper case.
 */
function normalizePath(text: string): string {
  return text
    .replace(/[^\x21-\x7e]/gu, (c) => encodeURIComponent(c))
    .replace(/%([0-9a-fA-F]{2})/g, (escape, hex: string) => {
      const char = String.fromCharCode(parseInt(hex, 16));
      return /[A-Za-z0-9\-._~]/.test(char) ? char : escape.toUpperCase();
    });
}

const ALLOW_ALL: RobotsRules = { isAllowed: () => true, crawlDelayMs: undefined, sitemaps: [] };

/**
 * What fetching one origin's robots.txt produced: an answer, a failure of the file itself (a
 * redirect loop, a body over the cap), or `down`: no HTTP answer at all (connection refused or
 * reset, DNS failure, timeout), carrying the error the fetcher classified.
 */
export type RobotsFetchResult =
  { status: number; body: string } | { error: unknown } | { down: Error & { retryable?: boolean } };

/**
 * `unavailable`: the server answered 5xx/429 (or the file failed), so RFC 9309's complete
 * disallow holds until `retryAtMs`. `down`: the host did not answer at all; nothing may be
 * fetched either, but its requests fail as the network error they are and retry on the normal
 * backoff, and the next attempt asks for robots.txt again.
 */
export type RobotsVerdict =
  | { kind: 'rules'; rules: RobotsRules }
  | { kind: 'unavailable'; reason: string; retryAtMs: number }
  | { kind: 'down'; error: Error & { retryable?: boolean } };

export interface RobotsCacheOptions {
  userAgent: string;
  /** Fetches `<origin>/robots.txt`; must not throw for HTTP statuses. */
  load: (origin: string) => Promise<RobotsFetchResult>;
  /** How long a fetched file is trusted. @default 86_400_000 (24 h, as RFC 9309 suggests) */
  ttlMs?: number;
  /** How long a 5xx or unreachable robots.txt disallows the origin before it is tried again. @default 30_000 */
  unavailableMs?: number;
  /** Origins remembered at once; the oldest is forgotten first. @default 10_000 */
  maxOrigins?: number;
  now?: () => number;
}

/** One robots.txt fetch per origin, shared by every request that asks while it is in flight. */
export class RobotsCache {
  private readonly entries = new Map<string, { verdict: RobotsVerdict; expiresAt: number }>();
  private readonly inFlight = new Map<string, Promise<RobotsVerdict>>();
  private readonly now: () => number;

  constructor(private readonly options: RobotsCacheOptions) {
    this.now = options.now ?? Date.now;
  }

  /** The cached verdict if it is still fresh; no I/O. */
  peek(origin: string): RobotsVerdict | undefined {
    const entry = this.entries.get(origin);
    if (!entry) return undefined;
    if (entry.expiresAt <= this.now()) {
      this.entries.delete(origin);
      return undefined;
    }
    return entry.verdict;
  }

  /** The verdict for an origin, fetching robots.txt at most once at a time. */
  get(origin: string): Promise<RobotsVerdict> {
    const cached = this.peek(origin);
    if (cached) return Promise.resolve(cached);
    let pending = this.inFlight.get(origin);
    if (!pending) {
      pending = this.fetch(origin).finally(() => this.inFlight.delete(origin));
      this.inFlight.set(origin, pending);
    }
    return pending;
  }

  private async fetch(origin: string): Promise<RobotsVerdict> {
    const result = await this.options.load(origin);
    const now = this.now();
    const unavailableMs = this.options.unavailableMs ?? 30_000;
    let verdict: RobotsVerdict;
    let ttl = this.options.ttlMs ?? 86_400_000;
    if ('down' in result) {
      // Not remembered: requests that wait on it share this fetch, the next attempt tries again.
      return { kind: 'down', error: result.down };
    }
    if ('error' in result) {
      verdict = { kind: 'unavailable', reason: describe(result.error), retryAtMs: now + unavailableMs };
      ttl = unavailableMs;
    } else if (result.status >= 200 && result.status < 300) {
      verdict = { kind: 'rules', rules: parseRobots(result.body, this.options.userAgent) };
    } else if (result.status >= 400 && result.status < 500 && result.status !== 429) {
      verdict = { kind: 'rules', rules: ALLOW_ALL };
    } else {
      // 5xx, 429 and anything unexpected: complete disallow until it can be fetched again.
      verdict = { kind: 'unavailable', reason: `HTTP ${result.status}`, retryAtMs: now + unavailableMs };
      ttl = unavailableMs;
    }
    this.entries.set(origin, { verdict, expiresAt: now + ttl });
    if (this.entries.size > (this.options.maxOrigins ?? 10_000)) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
    return verdict;
  }
}

function describe(error: unknown): string {
  const code = (error as { code?: unknown })?.code;
  if (typeof code === 'string') return code;
  return error instanceof Error ? error.message : String(error);
}
