/**
 * A job directory: the frontier and the seen set on disk, so a stopped or killed crawl resumes
 * where it was. One append-only log, `frontier.log`, one record a line:
 *
 *   +{...}   a request was queued (a CrawlRequest as JSON; its fingerprint joins the seen set)
 *   -FP      the request with fingerprint FP is done: fetched and its items durable, or failed
 *   sKEY     a seen key (16 hex digits), written only by compaction
 *
 * Appending costs one write per batch whatever the frontier size; the log is rewritten (to a
 * temporary file, then renamed over the old one) only when it has grown to several times its last
 * compacted size, so the rewrite cost is amortised. A line cut short by a crash is ignored on load;
 * the request it described is either still pending in an earlier line or will be found again.
 *
 * A `lock` file holds the pid of the crawl using the directory, so a second crawl started on it
 * refuses instead of interleaving its records; a lock left by a process that no longer runs (kill -9)
 * is taken over.
 *
 * `cookies.json` holds the crawl's cookie jar, so a resumed crawl is still logged in. It is
 * rewritten whole (temporary file, then rename) soon after each response that changed a cookie,
 * at most every COOKIE_SAVE_EVERY_MS, and at close; a kill -9 loses at most the changes of that
 * last interval.
 */
import { existsSync, readFileSync } from 'node:fs';
import { type FileHandle, open, readFile, rename, unlink } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { ensureDir } from '../ensure-dir.js';
import { JobDirError } from '../errors.js';
import type { CrawlRequest } from '../types.js';
import { decodeRequest, encodeRequest } from './request-codec.js';

const LOG = 'frontier.log';
/** Compaction waits for the log to reach this size at least. */
const MIN_COMPACT_BYTES = 8 * 1024 * 1024;
/** Buffered records are written at least this often, so a crash loses little queued work. */
const FLUSH_EVERY_MS = 500;
const LOCK = 'lock';
const COOKIES = 'cookies.json';

/** What the job directory needs of a cookie jar to keep it: its JSON, and word of each change. */
export interface SavedJar {
  serialize(): string;
  onChange(listener: () => void): void;
}
/** Cookie changes are written at most this often (the first one at once). */
const COOKIE_SAVE_EVERY_MS = 500;
/** Job directories this process holds, so a lock with its own pid can be told from a stale one. */
const heldHere = new Set<string>();

export interface RestoredJob {
  /** Requests queued or in flight when the job stopped, in the order they were queued. */
  pending: CrawlRequest[];
  /** Seen fingerprints, as fingerprints (from `+` lines) and as keys (from `s` lines). */
  seenFingerprints: string[];
  seenKeys: string[];
}

/** What compaction needs from the crawl: what is still to do, and every seen key. */
export interface JobSnapshot {
  pending(): Iterable<CrawlRequest>;
  seenKeys(): Iterable<string>;
}

/** True when `dir` holds a job log, i.e. a crawl with this job directory would resume. */
export function jobExists(dir: string): boolean {
  return existsSync(join(dir, LOG));
}

export class JobDir {
  private handle: FileHandle | undefined;
  private buffer: string[] = [];
  private writing: Promise<void> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;
  private bytes = 0;
  private compactAt = 0;
  private failure: unknown;
  private compacting = false;
  private locked = false;
  /** The jar as the last run saved it, until `cookieSession` restores it. */
  private savedCookies: string | undefined;
  private cookies: SavedJar | undefined;
  private cookiesDirty = false;
  private cookieTimer: NodeJS.Timeout | undefined;
  private lastCookieSave = 0;
  private cookieWriting: Promise<void> = Promise.resolve();

  /** `minCompactBytes`: the log size below which it is never compacted (tests lower it). */
  constructor(
    readonly dir: string,
    private readonly minCompactBytes = MIN_COMPACT_BYTES,
  ) {}

  get path(): string {
    return join(this.dir, LOG);
  }

  /** Reads what an earlier run left, rewrites it compacted, and opens the log for appending. */
  async open(): Promise<RestoredJob> {
    try {
      await ensureDir(this.dir);
      await this.lock();
      const restored = jobExists(this.dir) ? parseLog(await readFile(this.path, 'utf8')) : undefined;
      this.savedCookies = await readFile(join(this.dir, COOKIES), 'utf8').catch((error) => {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
        throw error;
      });
      if (restored) {
        const keys = new Set(restored.seenKeys);
        // Fingerprints are kept as they are (a compaction during the run turns them into keys);
        // those of pending requests are implied by their `+` lines.
        const queued = new Set(restored.pending.filter((r) => !r.dontFilter).map((r) => r.fingerprint));
        const doneOnly = restored.seenFingerprints.filter((fp) => !queued.has(fp));
        await this.rewrite(
          snapshotLines({ pending: () => restored.pending, seenKeys: () => keys }, doneOnly),
        );
      }
      this.handle = await open(this.path, 'a');
      this.bytes = (await this.handle.stat()).size;
      this.compactAt = Math.max(this.minCompactBytes, this.bytes * 4);
      this.timer = setInterval(() => void this.flush().catch(() => undefined), FLUSH_EVERY_MS);
      this.timer.unref();
      return restored ?? { pending: [], seenFingerprints: [], seenKeys: [] };
    } catch (error) {
      await this.unlock();
      if (error instanceof JobDirError) throw error;
      throw new JobDirError(`cannot open job directory ${this.dir}: ${(error as Error).message}`, {
        cause: error,
      });
    }
  }

  /**
   * Restores the crawl's cookie jar from what the last run saved (`make(undefined)` on a first
   * run) and saves it here again whenever it changes.
   */
  keepCookies<T extends SavedJar>(make: (saved: string | undefined) => T): T {
    if (this.cookies) throw new JobDirError('the cookie jar of a job directory is kept once');
    let jar: T;
    try {
      jar = make(this.savedCookies);
    } catch (error) {
      throw new JobDirError(
        `cannot restore the cookies of ${join(this.dir, COOKIES)}: ${(error as Error).message}`,
        { cause: error },
      );
    }
    this.savedCookies = undefined;
    this.cookies = jar;
    jar.onChange(() => this.cookiesChanged());
    return jar;
  }

  /** Records a newly queued request; written with the next flush. */
  queued(request: CrawlRequest): void {
    this.buffer.push(requestLine(request));
  }

  /** Records requests as done and resolves once that (and everything queued before) is on disk. */
  done(fingerprints: string[]): Promise<void> {
    for (const fp of fingerprints) this.buffer.push(`-${fp}\n`);
    return this.flush();
  }

  /** Writes buffered records; calls are serialised so records reach the file in order. */
  flush(): Promise<void> {
    if (this.buffer.length === 0) return this.writing;
    const text = this.buffer.join('');
    this.buffer = [];
    this.writing = this.writing.then(async () => {
      // eslint-disable-next-line @typescript-eslint/only-throw-error -- what failed, rethrown as it was
      if (this.failure) throw this.failure;
      try {
        await this.handle!.write(text);
        this.bytes += Buffer.byteLength(text);
      } catch (error) {
        this.failure = new JobDirError(`cannot write ${this.path}: ${(error as Error).message}`, {
          cause: error,
        });
        throw this.failure;
      }
    });
    return this.writing;
  }

  /**
   * Compacts when the log has grown enough since the last compaction. Runs in the write chain, and
   * the snapshot is taken in one synchronous step that also drops buffered records: everything they
   * said is in the snapshot.
   */
  maybeCompact(snapshot: JobSnapshot): Promise<void> {
    if (this.bytes < this.compactAt || !this.handle || this.compacting) return this.writing;
    this.compacting = true;
    this.writing = this.writing.then(async () => {
      try {
        const lines = snapshotLines(snapshot, []);
        this.buffer = [];
        await this.handle!.close();
        this.handle = undefined;
        await this.rewrite(lines);
        this.handle = await open(this.path, 'a');
        this.bytes = (await this.handle.stat()).size;
        this.compactAt = Math.max(this.minCompactBytes, this.bytes * 4);
      } finally {
        this.compacting = false;
      }
    });
    return this.writing;
  }

  /** Flushes and releases the file; the log stays for the next run. */
  async close(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    clearTimeout(this.cookieTimer);
    this.cookieTimer = undefined;
    try {
      await this.flush();
      await this.saveCookies();
      // eslint-disable-next-line @typescript-eslint/only-throw-error -- what failed, rethrown as it was
      if (this.failure) throw this.failure;
    } finally {
      await this.handle?.close();
      this.handle = undefined;
      await this.unlock();
    }
  }

  /** Schedules a save of the jar: at once after a quiet spell, else at the end of the interval. */
  private cookiesChanged(): void {
    this.cookiesDirty = true;
    // Not open (or closing): close() saves what is left.
    if (this.cookieTimer || this.timer === undefined) return;
    const waitMs = Math.max(0, this.lastCookieSave + COOKIE_SAVE_EVERY_MS - Date.now());
    this.cookieTimer = setTimeout(() => {
      this.cookieTimer = undefined;
      void this.saveCookies();
    }, waitMs);
  }

  /** Writes the jar if it changed since the last save; a failure fails the job like a log write. */
  private saveCookies(): Promise<void> {
    if (!this.cookiesDirty || !this.cookies) return this.cookieWriting;
    this.cookiesDirty = false;
    this.lastCookieSave = Date.now();
    const text = this.cookies.serialize();
    const path = join(this.dir, COOKIES);
    this.cookieWriting = this.cookieWriting
      .then(() => writeAtomically(path, text))
      .catch((error) => {
        this.failure ??= new JobDirError(`cannot write ${path}: ${(error as Error).message}`, {
          cause: error,
        });
      });
    return this.cookieWriting;
  }

  /** Takes the directory's lock, or says which running process holds it. */
  private async lock(): Promise<void> {
    const path = join(this.dir, LOCK);
    const key = resolve(this.dir);
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        const file = await open(path, 'wx');
        await file.write(`${process.pid}\n`);
        await file.close();
        this.locked = true;
        heldHere.add(key);
        return;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      }
      const holder = Number.parseInt(await readFile(path, 'utf8').catch(() => ''), 10);
      const inUse = holder === process.pid ? heldHere.has(key) : isRunning(holder);
      if (inUse)
        throw new JobDirError(
          `job directory ${this.dir} is in use by process ${holder}; stop that crawl first (or delete ${path} if no crawl is running)`,
        );
      // Left by a crawl that was killed: take it over.
      await unlink(path).catch(() => undefined);
    }
    throw new JobDirError(`cannot lock job directory ${this.dir}: another crawl took it at the same time`);
  }

  private async unlock(): Promise<void> {
    if (!this.locked) return;
    this.locked = false;
    heldHere.delete(resolve(this.dir));
    await unlink(join(this.dir, LOCK)).catch(() => undefined);
  }

  private async rewrite(lines: string[]): Promise<void> {
    const tmp = `${this.path}.tmp`;
    const out = await open(tmp, 'w');
    try {
      for (let i = 0; i < lines.length; i += 4096) await out.write(lines.slice(i, i + 4096).join(''));
      await out.sync();
    } finally {
      await out.close();
    }
    await rename(tmp, this.path);
  }
}

/** Replaces `path` with `text` so a reader sees the old file or the new one, never a mix. */
export async function writeAtomically(path: string, text: string): Promise<void> {
  const tmp = `${path}.tmp`;
  // Only the owner may read it: cookies are session credentials.
  const out = await open(tmp, 'w', 0o600);
  try {
    await out.write(text);
    await out.sync();
  } finally {
    await out.close();
  }
  await rename(tmp, path);
}

/** Whether a process with this pid runs; a zombie (killed, not yet reaped) does not. */
function isRunning(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat[stat.lastIndexOf(')') + 2] !== 'Z';
  } catch {
    // Gone since the signal, or no /proc (not Linux), where signal 0 is all there is.
    return !existsSync('/proc/self/stat');
  }
}

function snapshotLines(snapshot: JobSnapshot, fingerprints: string[]): string[] {
  const lines: string[] = [];
  for (const key of snapshot.seenKeys()) lines.push(`s${key}\n`);
  for (const fp of fingerprints) lines.push(`s${fp}\n`);
  for (const request of snapshot.pending()) lines.push(requestLine(request));
  return lines;
}

function requestLine(request: CrawlRequest): string {
  return `+${encodeRequest(request)}\n`;
}

/** Replays a log: pending = queued minus done (as a multiset, for `dontFilter` repeats). */
function parseLog(text: string): RestoredJob {
  const pending = new Map<string, CrawlRequest[]>();
  const order: CrawlRequest[] = [];
  const seenFingerprints: string[] = [];
  const seenKeys: string[] = [];
  const finished = new Set<CrawlRequest>();
  const queuedOnce = new Set<string>();
  for (const line of text.split('\n')) {
    const kind = line[0];
    if (kind === '+') {
      const request = decodeRequest(line.slice(1));
      if (!request) continue; // a line cut short by a crash
      if (!request.dontFilter) {
        // A request queued again around a compaction appears twice; one copy is enough.
        if (queuedOnce.has(request.fingerprint)) continue;
        queuedOnce.add(request.fingerprint);
        seenFingerprints.push(request.fingerprint);
      }
      const list = pending.get(request.fingerprint);
      if (list) list.push(request);
      else pending.set(request.fingerprint, [request]);
      order.push(request);
    } else if (kind === '-') {
      const done = pending.get(line.slice(1))?.shift();
      if (done) finished.add(done);
    } else if (kind === 's') {
      const value = line.slice(1);
      // Keys are 16 hex digits; a fingerprint kept from an earlier resume is 22 base64url chars.
      if (/^[0-9a-f]{16}$/.test(value)) seenKeys.push(value);
      else if (value.length >= 11) seenFingerprints.push(value);
    }
  }
  return {
    pending: order.filter((r) => !finished.has(r)),
    seenFingerprints: [...new Set(seenFingerprints)],
    seenKeys: [...new Set(seenKeys)],
  };
}
