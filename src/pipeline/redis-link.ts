/**
 * The connection a distributed crawl keeps to Redis. Redis may go away for a while (a restart, a
 * failover, a network blip): the link reconnects with backoff, and every command waits for it
 * and is sent again, so the stages above see a slow answer, not an error. Only when Redis stays
 * away longer than `outageMs` do commands fail, and the crawl with them. Redis unreachable at
 * the start is an error at once: there is nothing to keep yet.
 */
import { createClient, ErrorReply } from '@redis/client';
import { redactUrl, SharedFrontierError } from '../errors.js';

// The client's own type parameters (no modules, functions or scripts; RESP 2; no type mapping).
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export type RedisClient = ReturnType<typeof createClient<{}, {}, {}, 2, {}>>;

/** The connection went away or came back. */
export interface ConnectionEvent {
  state: 'lost' | 'back';
  /** Why it was lost. */
  reason?: string;
  /** How long it was away. */
  downMs?: number;
}

export interface RedisLinkOptions {
  /** redis:// or rediss:// URL. */
  url: string;
  /** How long commands wait for a lost connection to come back before they fail. */
  outageMs: number;
  onConnection?: (event: ConnectionEvent) => void;
}

const CONNECT_TIMEOUT_MS = 5_000;
const MAX_BACKOFF_MS = 2_000;
/** A command failed although the connection looks up: wait this long before sending it again. */
const TRANSIENT_RETRY_MS = 50;

export class RedisLink {
  private readonly shas = new Map<string, string>();
  private connected = false;
  private downSince: number | undefined;
  private watchdog: NodeJS.Timeout | undefined;
  private gaveUp: SharedFrontierError | undefined;
  private closed = false;
  private readonly backWaiters = new Set<() => void>();

  private constructor(
    readonly client: RedisClient,
    private readonly options: RedisLinkOptions,
  ) {}

  static async open(options: RedisLinkOptions): Promise<RedisLink> {
    const holder: { link?: RedisLink } = {};
    const client: RedisClient = createClient({
      url: options.url,
      socket: {
        connectTimeout: CONNECT_TIMEOUT_MS,
        // Before the first connection there is no work to keep: fail at once, with the cause.
        reconnectStrategy: (retries, cause) =>
          holder.link?.connected && !holder.link.closed ? backoffMs(retries) : cause,
      },
    });
    const link = new RedisLink(client, options);
    holder.link = link;
    link.listen();
    try {
      await client.connect();
    } catch (error) {
      destroy(client);
      throw new SharedFrontierError(
        `cannot connect to Redis at ${redactUrl(options.url)}: ${describe(error)}`,
        {
          cause: error,
        },
      );
    }
    link.connected = true;
    return link;
  }

  /** Runs a script by its SHA (loaded once), so each call sends only keys and arguments. */
  eval(script: string, keys: readonly string[], args: readonly string[]): Promise<unknown> {
    const tail = [String(keys.length), ...keys, ...args];
    return this.run(async (client) => {
      let sha = this.shas.get(script);
      if (sha === undefined) {
        sha = String(await client.sendCommand(['SCRIPT', 'LOAD', script]));
        this.shas.set(script, sha);
      }
      try {
        return await client.sendCommand(['EVALSHA', sha, ...tail]);
      } catch (error) {
        // Redis restarted or its script cache was flushed: send the script itself.
        if (!String((error as Error).message).startsWith('NOSCRIPT')) throw error;
        this.shas.delete(script);
        return client.sendCommand(['EVAL', script, ...tail]);
      }
    });
  }

  /**
   * Runs `command`, and again once the connection is back if it was lost on the way. A command
   * sent twice must do no harm: the scripts of the shared frontier are written so.
   */
  async run<T>(command: (client: RedisClient) => Promise<T>): Promise<T> {
    for (;;) {
      try {
        return await command(this.client);
      } catch (error) {
        if (error instanceof ErrorReply || this.closed) throw error;
        if (this.gaveUp) throw this.gaveUp;
        await this.back();
      }
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.watchdog);
    for (const wake of this.backWaiters) wake();
    if (this.client.isReady) await this.client.close().catch(() => destroy(this.client));
    else destroy(this.client);
  }

  private listen(): void {
    // Without a listener an 'error' event would end the process; commands report what failed.
    this.client.on('error', (error: unknown) => this.lost(describe(error)));
    this.client.on('ready', () => this.regained());
  }

  private lost(reason: string): void {
    if (!this.connected || this.closed || this.downSince !== undefined) return;
    this.downSince = performance.now();
    this.options.onConnection?.({ state: 'lost', reason });
    this.watchdog = setTimeout(() => this.giveUp(reason), this.options.outageMs);
    this.watchdog.unref();
  }

  private regained(): void {
    if (this.downSince === undefined) return;
    const downMs = Math.round(performance.now() - this.downSince);
    this.downSince = undefined;
    clearTimeout(this.watchdog);
    // Scripts are loaded again on first use (a restarted Redis has forgotten them).
    this.shas.clear();
    this.options.onConnection?.({ state: 'back', downMs });
    for (const wake of this.backWaiters) wake();
    this.backWaiters.clear();
  }

  private giveUp(reason: string): void {
    const url = redactUrl(this.options.url);
    this.gaveUp = new SharedFrontierError(
      `Redis at ${url} unreachable for ${Math.round(this.options.outageMs / 1000)} s: ${reason}`,
    );
    // Commands waiting in the client's offline queue are rejected now, and fail with the above.
    destroy(this.client);
    for (const wake of this.backWaiters) wake();
  }

  /** Resolves once the connection is up again (at once, after a short pause, if it looks up). */
  private back(): Promise<void> {
    if (this.client.isReady && this.downSince === undefined)
      return new Promise((resolve) => setTimeout(resolve, TRANSIENT_RETRY_MS));
    return new Promise((resolve) => this.backWaiters.add(resolve));
  }
}

/** 50 ms, doubling to 2 s, with jitter so that processes do not all come back at one instant. */
function backoffMs(retries: number): number {
  const base = Math.min(MAX_BACKOFF_MS, 50 * 2 ** Math.min(retries, 6));
  return Math.round(base / 2 + (Math.random() * base) / 2);
}

function describe(error: unknown): string {
  if (error instanceof AggregateError && error.errors.length > 0) return describe(error.errors[0]);
  const message = error instanceof Error ? error.message : String(error);
  return message || (error as { code?: string })?.code || 'unknown error';
}

/** A short-lived connection for one question (status, reset, exists); no reconnecting. */
export async function withClient<T>(url: string, use: (client: RedisClient) => Promise<T>): Promise<T> {
  const client: RedisClient = createClient({
    url,
    socket: { reconnectStrategy: false, connectTimeout: CONNECT_TIMEOUT_MS },
  });
  client.on('error', () => undefined);
  try {
    await client.connect();
  } catch (error) {
    throw new SharedFrontierError(`cannot connect to Redis at ${redactUrl(url)}: ${describe(error)}`, {
      cause: error,
    });
  }
  try {
    return await use(client);
  } finally {
    destroy(client);
  }
}

/** Closes the socket at once; a client already closed (it gave up reconnecting) throws otherwise. */
function destroy(client: RedisClient): void {
  try {
    client.destroy();
  } catch {
    // Already closed.
  }
}
