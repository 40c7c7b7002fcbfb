// `rampart migrate`: applies pending migrations and exits.
import type { Logger } from 'pino';
import type { Config } from '../config.ts';
import { startPlatform } from '../platform/platform.ts';

export async function migrate(config: Config, logger: Logger): Promise<void> {
  const platform = await startPlatform(config, logger, { migrate: true });
  logger.info({ capabilities: platform.capabilities }, 'migrations applied');
  await platform.stop();
}
