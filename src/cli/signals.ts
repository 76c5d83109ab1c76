import type { Crawl } from '../index.js';
import { EXIT } from './exit.js';

/**
 * After the first SIGINT/SIGTERM the process is gone within this long, whatever it is doing. In
 * flight work gets the crawl's stop grace (5 s by default) to finish; at CANCEL_AT_MS everything
 * still running is cancelled and the sinks are left to flush; at EXIT_AT_MS the process exits even
 * if a sink or a socket still hangs. What did not finish is counted (and kept by a job directory).
 */
const SHUTDOWN_DEADLINE_MS = 10_000;
const CANCEL_AT_MS = SHUTDOWN_DEADLINE_MS - 2_500;
const EXIT_AT_MS = SHUTDOWN_DEADLINE_MS - 500;

/**
 * SIGINT/SIGTERM: the first stops the crawl gracefully on the shutdown timeline above, a second
 * exits at once. `notice` logs a line (JSON in JSON mode, above the status line on a terminal);
 * `stopDisplay` removes the status line.
 */
export function handleSignals(job: Crawl, notice: (message: string) => void, stopDisplay: () => void) {
  let interrupted = false;
  const onSignal = () => {
    if (interrupted) {
      stopDisplay();
      notice('second interrupt: exiting now');
      process.exit(EXIT.interrupted);
    }
    interrupted = true;
    notice('interrupt: finishing in-flight work (press Ctrl-C again to exit now)');
    job.stop('interrupted');
    setTimeout(() => job.abort(), CANCEL_AT_MS).unref();
    setTimeout(() => {
      stopDisplay();
      notice(
        `shutdown deadline: exiting with work unfinished (in flight ${job.stats.gauges.inFlight}, items not yet written ${job.stats.gauges.itemBacklog})`,
      );
      process.exit(EXIT.interrupted);
    }, EXIT_AT_MS).unref();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return {
    interrupted: () => interrupted,
    dispose: () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}
