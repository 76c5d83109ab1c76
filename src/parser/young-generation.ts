/**
 * Collects a parser thread's young generation between pages, while nothing of a page is alive.
 *
 * A 300 KB listing page queried card by card allocates ~24 MB, nearly all of it garbage by the
 * time the callback returns. Left to V8, the young generation fills in the middle of a page and
 * every scavenge copies that page's live tree (~4 MB), on this thread and on V8's shared helper
 * threads, which a second worker needs on a machine without an idle core. Collected between pages
 * the survivors are a few objects: ~1 ms a page instead of ~2.3 ms of scavenging plus helper time
 * (bench/README.md, "Young generation collected between pages").
 */
import { getHeapSpaceStatistics, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

type Gc = (options: { type: 'minor' }) => void;

/**
 * V8's `gc` without exposing it to spider code: the flag is on only while a throwaway context is
 * made. A process started with --expose-gc already has it, and its flag is left alone. The flag is
 * process-wide, so a worker starting at the same moment may turn it off in between: try again.
 */
function minorGcFunction(): Gc | undefined {
  const own = (globalThis as { gc?: Gc }).gc;
  if (typeof own === 'function') return own;
  for (let attempt = 0; attempt < 10; attempt++) {
    try {
      setFlagsFromString('--expose-gc');
      const gc: unknown = runInNewContext('typeof gc === "function" ? gc : undefined');
      if (typeof gc === 'function') return gc as Gc;
    } catch {
      return undefined;
    } finally {
      setFlagsFromString('--no-expose-gc');
    }
  }
  return undefined;
}

const gc = minorGcFunction();

let usedAtPageStart = 0;

function youngGeneration(): { used: number; available: number } {
  const young = getHeapSpaceStatistics().find((space) => space.space_name === 'new_space');
  return { used: young?.space_used_size ?? 0, available: young?.space_available_size ?? Infinity };
}

/**
 * Scavenges before a page when one like the last would not fit in what is left of the young
 * generation: a big page then starts with room for all it allocates, and small pages are left to
 * V8 (collecting them early would only mean more collections).
 */
export function collectYoungGenerationBetweenPages(): void {
  if (!gc) return;
  const { used, available } = youngGeneration();
  // What the last page allocated; when V8 scavenged during it, what filled the space, plus since.
  const lastPage =
    used >= usedAtPageStart ? used - usedAtPageStart : used + available - usedAtPageStart + used;
  if (available < lastPage) {
    gc({ type: 'minor' });
    usedAtPageStart = youngGeneration().used;
  } else {
    usedAtPageStart = used;
  }
}

/** Whether this thread got hold of `gc` (else pages are left to V8's own scheduling). */
export const collectsBetweenPages = gc !== undefined;
