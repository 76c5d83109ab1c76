import { afterAll, describe, expect, it } from 'vitest';
import { HostLimits, type ResolvedHostLimit } from '../../src/fetcher/host-limits.js';
import { deleteSharedCrawl } from '../../src/pipeline/crawl-status.js';
import { SharedFrontier } from '../../src/pipeline/shared-frontier.js';

const REDIS_URL = process.env.REDIS_URL;

/** Taking a turn: admitted, refused because the host is at its concurrency, or told to wait n ms. */
type Answer = 'admit' | 'busy' | number;
type Step = ['take', Answer] | ['release'] | ['advance', number];

/** One rule, two places: the host gap of this process and the Redis gate of a distributed crawl. */
const cases: Array<[string, ResolvedHostLimit, Step[]]> = [
  [
    'admits up to its concurrency when there is no gap, then none until one ends',
    { concurrency: 2, delayMs: 0, jitterMs: 0 },
    [['take', 'admit'], ['take', 'admit'], ['take', 'busy'], ['release'], ['take', 'admit']],
  ],
  [
    'spaces starts by the delay plus the delivery margin (10%, at most 5 ms)',
    { concurrency: 4, delayMs: 100, jitterMs: 0 },
    [
      ['take', 'admit'],
      ['take', 105],
      ['advance', 40],
      ['take', 65],
      ['advance', 90],
      ['take', 'admit'],
      ['take', 105],
    ],
  ],
  [
    'a short delay gets a short margin',
    { concurrency: 4, delayMs: 30, jitterMs: 0 },
    [
      ['take', 'admit'],
      ['take', 33],
      ['advance', 50],
      ['take', 'admit'],
    ],
  ],
  [
    'adds the jitter drawn for the start',
    { concurrency: 4, delayMs: 50, jitterMs: 40 },
    [
      ['take', 'admit'],
      ['take', 75],
      ['advance', 95],
      ['take', 'admit'],
    ],
  ],
  [
    'the gap runs from the last start, not from the last end',
    { concurrency: 1, delayMs: 100, jitterMs: 0 },
    [['take', 'admit'], ['advance', 30], ['release'], ['take', 75], ['advance', 95], ['take', 'admit']],
  ],
  [
    'a host at its concurrency is busy, whatever is left of its gap',
    { concurrency: 1, delayMs: 100, jitterMs: 0 },
    [['take', 'admit'], ['take', 'busy'], ['advance', 120], ['take', 'busy'], ['release'], ['take', 'admit']],
  ],
];

/**
 * A gate under test, on its own origin. `ranAheadMs` says by how much, at least and at most, its
 * clock ran ahead of the steps between the last admission and the last answer (a real clock runs
 * on while the test talks to it): a wait is expected to be that much shorter.
 */
interface Gate {
  take(): Promise<Answer>;
  release(): Promise<void>;
  advance(ms: number): Promise<void>;
  ranAheadMs(): [min: number, max: number];
}

const half = () => 0.5;

function hostLimits(limit: ResolvedHostLimit): Gate {
  let now = 1_000;
  const origin = 'http://a.example';
  const limits = new HostLimits(limit, { adaptive: false, random: half, now: () => now });
  return {
    async take() {
      const wait = limits.waitMs(origin);
      if (wait === Number.POSITIVE_INFINITY) return 'busy';
      if (wait > 0) return wait;
      limits.acquire(origin);
      limits.sent(origin);
      return 'admit';
    },
    async release() {
      limits.release(origin);
    },
    async advance(ms) {
      now += ms;
    },
    ranAheadMs: () => [0, 0],
  };
}

let shared: SharedFrontier | undefined;
const crawlId = `host-gap-${process.pid}-${Math.random().toString(36).slice(2)}`;
afterAll(async () => {
  await shared?.close();
  if (REDIS_URL) await deleteSharedCrawl(REDIS_URL, crawlId);
});

async function redisGate(limit: ResolvedHostLimit, name: string): Promise<Gate> {
  shared ??= await SharedFrontier.connect({ url: REDIS_URL!, crawlId, random: half });
  const gate = shared;
  const origin = `http://${name.replace(/\W+/g, '-')}.example`;
  const held: Array<() => Promise<void>> = [];
  const started = performance.now();
  let stepsMs = 0;
  const ahead = () => performance.now() - started - stepsMs;
  // When Redis took the last admission and gave the last answer: somewhere within each call.
  let admitted: [number, number] = [0, 0];
  let answered: [number, number] = [0, 0];
  return {
    async take() {
      const before = ahead();
      const turn = await gate.gate(origin, limit);
      answered = [before, ahead()];
      if (!turn.release) return turn.waitMs === Number.POSITIVE_INFINITY ? 'busy' : turn.waitMs;
      admitted = answered;
      held.push(turn.release);
      return 'admit';
    },
    async release() {
      await held.shift()?.();
    },
    async advance(ms) {
      stepsMs += ms;
      await new Promise((resolve) => setTimeout(resolve, ms));
    },
    ranAheadMs: () => [answered[0] - admitted[1], answered[1] - admitted[0]],
  };
}

async function play(gate: Gate, steps: Step[]): Promise<void> {
  for (const [i, step] of steps.entries()) {
    if (step[0] === 'release') await gate.release();
    else if (step[0] === 'advance') await gate.advance(step[1]);
    else {
      const got = await gate.take();
      const expected = step[1];
      if (typeof expected === 'number' && typeof got === 'number') {
        const [min, max] = gate.ranAheadMs();
        // Whole milliseconds on both sides.
        expect(got, `step ${i}`).toBeLessThanOrEqual(expected - min + 2);
        expect(got, `step ${i}`).toBeGreaterThanOrEqual(expected - max - 2);
      } else {
        expect(got, `step ${i}`).toBe(expected);
      }
    }
  }
}

describe('the host gap: HostLimits', () => {
  it.each(cases)('%s', async (_, limit, steps) => {
    await play(hostLimits(limit), steps);
  });
});

describe.skipIf(!REDIS_URL)('the host gap: the Redis gate of a distributed crawl', () => {
  it.each(cases)('%s', async (name, limit, steps) => {
    await play(await redisGate(limit, name), steps);
  });
});
