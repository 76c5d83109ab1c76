import { describe, expect, it } from 'vitest';
import { sinkRetryDelay } from '../../src/storage/sink-writer.js';

describe('sinkRetryDelay', () => {
  it.each([
    // attempt, base, max, random, delay
    [1, 200, 10_000, 0, 100],
    [1, 200, 10_000, 1, 200],
    [2, 200, 10_000, 1, 400],
    [3, 200, 10_000, 0.5, 600],
    [7, 200, 10_000, 1, 10_000],
    [60, 200, 10_000, 0, 5_000],
  ])('attempt %i (base %i, max %i, random %f) waits %i ms', (attempt, base, max, random, delay) => {
    expect(sinkRetryDelay(attempt, base, max, random)).toBe(delay);
  });
});
