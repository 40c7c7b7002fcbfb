// `rampart worker`: the background role of the scale shape. It holds the platform
// open until a signal; job handlers and the heartbeat attach here.
import type { Logger } from 'pino';
import type { Config } from '../config.ts';
import { exitOnSignal } from '../platform/lifecycle.ts';
import { startPlatform } from '../platform/platform.ts';

export async function worker(config: Config, logger: Logger): Promise<void> {
  const platform = await startPlatform(config, logger, { migrate: false });
  logger.info('worker started');
  exitOnSignal(logger, config.shutdownGraceMs, () => platform.stop());
}
