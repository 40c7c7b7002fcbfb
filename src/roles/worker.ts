// `rampart worker`: the background role of the scale shape: runs every module's job
// handlers and loops and beats its heartbeat until a signal. No routes are built.
import type { Logger } from 'pino';
import type { Config } from '../config.ts';
import { createModules } from '../modules/index.ts';
import { exitOnSignal } from '../platform/lifecycle.ts';
import { startPlatform } from '../platform/platform.ts';
import { startModules } from './module-parts.ts';

export async function worker(config: Config, logger: Logger): Promise<void> {
  const platform = await startPlatform(config, logger, { migrate: false });
  const stopLoops = await startModules(platform, createModules(platform), 'worker', true);
  logger.info('worker started');
  exitOnSignal(logger, config.shutdownGraceMs, async () => {
    await stopLoops();
    await platform.stop();
  });
}
