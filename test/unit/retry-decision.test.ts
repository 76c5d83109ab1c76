import { describe, expect, it } from 'vitest';
import {
  BlockedAddressError,
  HttpStatusError,
  NetworkError,
  ParseTimeoutError,
  RedirectError,
  RobotsUnavailableError,
  TimeoutError,
  WorkerCrashError,
} from '../../src/errors.js';
import {
  afterFetchError,
  afterParseError,
  type CrawlPhase,
  type ParseDecision,
  type RetryDecision,
  type RetrySettings,
} from '../../src/pipeline/retry-decision.js';

const settings: RetrySettings = {
  retries: 3,
  backoff: { baseMs: 500, maxMs: 30_000, maxRetryAfterMs: 60_000, random: () => 0.5 },
};

describe('afterFetchError', () => {
  it.each<[string, unknown, number, CrawlPhase, RetryDecision]>([
    [
      'a timeout is retried after the backoff, behind its host',
      new TimeoutError('headers', 1),
      1,
      'running',
      { kind: 'retry', delayMs: 250, slow: true },
    ],
    [
      'a lost connection is retried, behind its host',
      new NetworkError('reset'),
      2,
      'running',
      { kind: 'retry', delayMs: 500, slow: true },
    ],
    [
      'a 503 is retried in its turn',
      new HttpStatusError(503, 'http://a/'),
      1,
      'running',
      { kind: 'retry', delayMs: 250, slow: false },
    ],
    [
      'a 429 with Retry-After waits what the server said',
      new HttpStatusError(429, 'http://a/', '7'),
      1,
      'running',
      { kind: 'retry', delayMs: 7000, slow: false },
    ],
    [
      'a Retry-After beyond maxRetryAfterMs is capped',
      new HttpStatusError(503, 'http://a/', '600'),
      1,
      'running',
      { kind: 'retry', delayMs: 60_000, slow: false },
    ],
    [
      'a robots.txt outage waits what it says',
      new RobotsUnavailableError('http://a', '503', 4000),
      1,
      'running',
      { kind: 'retry', delayMs: 4000, slow: false },
    ],
    [
      'the last retry is still made',
      new NetworkError('reset'),
      3,
      'running',
      { kind: 'retry', delayMs: 1000, slow: true },
    ],
    ['after the last retry the request fails', new NetworkError('reset'), 4, 'running', { kind: 'fail' }],
    ['a 404 fails at once', new HttpStatusError(404, 'http://a/'), 1, 'running', { kind: 'fail' }],
    [
      'a blocked address fails at once',
      new BlockedAddressError('h', '10.0.0.1'),
      1,
      'running',
      { kind: 'fail' },
    ],
    ['a redirect error fails at once', new RedirectError('loop'), 1, 'running', { kind: 'fail' }],
    ['an error of no trawl class fails', new Error('bug'), 1, 'running', { kind: 'fail' }],
    [
      'stopping: a retryable failure stays queued, untried',
      new TimeoutError('headers', 1),
      1,
      'stopping',
      { kind: 'requeue' },
    ],
    [
      'stopping: an exhausted one still fails',
      new TimeoutError('headers', 1),
      4,
      'stopping',
      { kind: 'fail' },
    ],
    [
      'stopping: a permanent failure still fails',
      new HttpStatusError(404, 'http://a/'),
      1,
      'stopping',
      { kind: 'fail' },
    ],
    [
      'cancelled: left unfinished, whatever the error',
      new HttpStatusError(404, 'http://a/'),
      1,
      'cancelled',
      { kind: 'abandon' },
    ],
    ['cancelled: a retryable one too', new NetworkError('aborted'), 1, 'cancelled', { kind: 'abandon' }],
  ])('%s', (_, error, attempts, phase, expected) => {
    expect(afterFetchError(error, attempts, settings, phase)).toEqual(expected);
  });

  it('retries: 0 fails the first failure', () => {
    expect(afterFetchError(new NetworkError('x'), 1, { ...settings, retries: 0 }, 'running')).toEqual({
      kind: 'fail',
    });
  });
});

describe('afterParseError', () => {
  it.each<[string, unknown, number, CrawlPhase, ParseDecision['kind']]>([
    [
      'a crashed worker gets the page fetched and parsed once more',
      new WorkerCrashError('died'),
      0,
      'running',
      'refetch',
    ],
    ['a second crash fails the page', new WorkerCrashError('died'), 1, 'running', 'fail'],
    ['a parse timeout fails the page', new ParseTimeoutError(100, 'http://a/'), 0, 'running', 'fail'],
    ['any other error fails the page', new Error('bug'), 0, 'running', 'fail'],
    [
      'stopping: a crash fails the page rather than fetch it again',
      new WorkerCrashError('died'),
      0,
      'stopping',
      'fail',
    ],
    ['cancelled: left unfinished', new WorkerCrashError('died'), 0, 'cancelled', 'abandon'],
  ])('%s', (_, error, parseAttempts, phase, kind) => {
    expect(afterParseError(error, parseAttempts, phase)).toEqual({ kind });
  });
});
