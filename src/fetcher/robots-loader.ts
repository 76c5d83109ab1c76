import { BlockedAddressError, NetworkError, RedirectError, TimeoutError } from '../errors.js';
import type { TimeoutOptions } from '../options.js';
import type { AddressGuard } from './address-guard.js';
import { readBody } from './body.js';
import type { Attempt, DeadlineWatch } from './deadline.js';
import type { Exchange } from './exchange.js';
import { classifyFetchError, phaseTimeoutMs } from './fetch-errors.js';
import type { HostLimits } from './host-limits.js';
import { isRedirect, nextHop } from './redirects.js';
import type { RobotsFetchResult } from './robots.js';

/** RFC 9309 asks crawlers to parse at least 500 KiB of robots.txt. */
const ROBOTS_MAX_BYTES = 512 * 1024;
const ROBOTS_MAX_REDIRECTS = 5;

/** What a robots.txt fetch shares with page fetches: the guard, the deadlines, the host limits, the wire. */
export interface RobotsWire {
  guard: AddressGuard;
  deadlines: DeadlineWatch;
  timeouts: Required<TimeoutOptions>;
  hostLimits?: HostLimits;
  /** Puts a GET for the URL on the wire with the robots.txt headers. */
  send(target: URL, attempt: Attempt): Exchange;
  /** Feeds an answer to the host's throttle. */
  observe(origin: string, status: number, startedMs: number): void;
}

/** GETs `<origin>/robots.txt`, following a few redirects, through the same guard, agent and host limits. */
export async function loadRobotsTxt(origin: string, wire: RobotsWire): Promise<RobotsFetchResult> {
  const attempt = wire.deadlines.start(wire.timeouts.totalMs);
  const visited = [`${origin}/robots.txt`];
  try {
    for (;;) {
      const target = new URL(visited[visited.length - 1]!);
      wire.guard.checkUrl(target);
      await wire.hostLimits?.turn(target.origin);
      const started = performance.now();
      const response = wire.send(target, attempt);
      try {
        await response.head;
      } catch (error) {
        if (!response.sent) wire.hostLimits?.unsent(target.origin);
        throw error;
      }
      wire.observe(target.origin, response.status, started);
      const headers = response.headers;
      if (isRedirect(response.status, headers.location)) {
        response.discard();
        visited.push(nextHop(response.status, headers.location, 'GET', visited, ROBOTS_MAX_REDIRECTS).url);
        continue;
      }
      if (response.status < 200 || response.status >= 300) {
        response.discard();
        return { status: response.status, body: '' };
      }
      // A longer file is read to the cap and parsed so far, its last, cut line dropped (RFC 9309 2.5).
      const { body } = await readBody(
        response.stream(),
        headers['content-encoding'],
        ROBOTS_MAX_BYTES,
        undefined,
        true,
      );
      const text = Buffer.from(body).toString('utf8');
      const whole = body.byteLength < ROBOTS_MAX_BYTES ? text : text.slice(0, text.lastIndexOf('\n') + 1);
      return { status: response.status, body: whole };
    }
  } catch (error) {
    return unanswered(
      origin,
      error,
      classifyFetchError(error, attempt.expired, undefined, wire.timeouts),
      wire,
    );
  } finally {
    wire.deadlines.end(attempt);
  }
}

function unanswered(
  origin: string,
  error: unknown,
  classified: ReturnType<typeof classifyFetchError>,
  wire: RobotsWire,
): RobotsFetchResult {
  // No HTTP answer at all: the host is down. Its requests fail as this error, naming the host.
  const context = `${new URL(origin).host} is not answering (robots.txt)`;
  if (classified instanceof TimeoutError) {
    const limitMs = phaseTimeoutMs(classified.phase, wire.timeouts);
    return { down: new TimeoutError(classified.phase, limitMs, { cause: error }, context) };
  }
  if (classified instanceof NetworkError)
    return { down: new NetworkError(`${context}: ${classified.message}`, { cause: error }) };
  // More redirects than RFC 9309 asks a crawler to follow, or a loop: the file is "unavailable"
  // (2.3.1.2), which, as a 4xx, allows everything.
  if (classified instanceof RedirectError) return { status: 404, body: '' };
  // The guard refused the address: the page fails for that reason, not as a robots.txt problem.
  if (classified instanceof BlockedAddressError) return { down: classified };
  // A body that cannot be decoded: RFC 9309's "unreachable", complete disallow.
  return { error: classified };
}
