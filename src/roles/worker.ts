// `rampart worker`: the background role of the scale shape: runs every module's job
// handlers and beats its heartbeat until a signal.
import type { Logger } from 'pino';
import type { Config } from '../config.ts';
import { createApiModules } from '../modules/index.ts';
import { exitOnSignal } from '../platform/lifecycle.ts';
import { startPlatform } from '../platform/platform.ts';

export async function worker(config: Config, logger: Logger): Promise<void> {
  const platform = await startPlatform(config, logger, { migrate: false });
  // The modules define their job types; their routes are not served here.
  createApiModules(platform);
  await platform.startJobs('worker', true);
  logger.info('worker started');
  exitOnSignal(logger, config.shutdownGraceMs, () => platform.stop());
}
