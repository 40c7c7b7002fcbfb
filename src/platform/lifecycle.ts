// Graceful shutdown: on SIGTERM/SIGINT run the role's close sequence, and if it
// has not finished within the grace period, exit anyway (non-zero) so an orchestrator is never stuck.
import type { Logger } from 'pino';

export function exitOnSignal(logger: Logger, graceMs: number, close: (signal: NodeJS.Signals) => Promise<void>): void {
  let closing = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (closing) return;
    closing = true;
    logger.info({ signal, grace_ms: graceMs }, 'shutting down');
    const deadline = setTimeout(() => {
      logger.error({ grace_ms: graceMs }, 'shutdown grace period exceeded; exiting');
      process.exit(1);
    }, graceMs);
    deadline.unref();
    close(signal).then(
      () => {
        logger.info('shutdown complete');
        logger.flush();
        process.exit(0);
      },
      (error: unknown) => {
        logger.error({ err: error }, 'shutdown failed');
        logger.flush();
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
}
