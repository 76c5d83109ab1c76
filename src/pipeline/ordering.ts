/**
 * The one order every frontier store serves queued requests in: fresh requests before retries of
 * slow ones (a URL that timed out or lost its connection must not keep taking its host's turns),
 * then higher priority first, then first come first served.
 */

/** Whether a request ranked (`aSlow`, `aPriority`, `aSeq`) is served before one ranked (`b...`). */
export function rankedBefore(
  aSlow: boolean,
  aPriority: number,
  aSeq: number,
  bSlow: boolean,
  bPriority: number,
  bSeq: number,
): boolean {
  if (aSlow !== bSlow) return !aSlow;
  if (aPriority !== bPriority) return aPriority > bPriority;
  return aSeq < bSeq;
}

/** Arrival numbers stay below this, so a sorted-set score keeps them apart from the priority. */
const SEQ_SPAN = 2 ** 40;
/** Above every priority's share of a score, so slow retries sort after everything fresh. */
const SLOW_SCORE = 2 ** 52;

/**
 * The same order as one number, lowest first, for a store that sorts by score (a Redis sorted
 * set): the score is `rankScore(...) + seq`. Exact for integer priorities within +-1024 and fewer
 * than 2^40 arrivals; beyond that, ties among equal priorities may lose their arrival order.
 */
export function rankScore(slow: boolean, priority: number): number {
  return (slow ? SLOW_SCORE : 0) - priority * SEQ_SPAN;
}
