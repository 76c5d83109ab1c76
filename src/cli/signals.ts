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
 * exits at once. `say` writes a line above the status line; `stopDisplay` removes the status line.
 */
export function handleSignals(job: Crawl, say: (line: string) => void, stopDisplay: () => void) {
  let interrupted = false;
  const onSignal = () => {
    if (interrupted) {
      stopDisplay();
      process.stderr.write('second interrupt: exiting now\n');
      process.exit(EXIT.interrupted);
    }
    interrupted = true;
    say('interrupt: finishing in-flight work (press Ctrl-C again to exit now)\n');
    job.stop('interrupted');
    setTimeout(() => job.abort(), CANCEL_AT_MS).unref();
    setTimeout(() => {
      stopDisplay();
      process.stderr.write(
        `shutdown deadline: exiting with work unfinished (in flight ${job.stats.gauges.inFlight}, items not yet written ${job.stats.gauges.itemBacklog})\n`,
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
