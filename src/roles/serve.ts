// `rampart serve`: the HTTP API; in the embedded shape it also hosts every other role.
import type { Logger } from 'pino';
import { buildApp } from '../app.ts';
import type { Config } from '../config.ts';
import { createApiModules } from '../modules/index.ts';
import { exitOnSignal } from '../platform/lifecycle.ts';
import { startPlatform } from '../platform/platform.ts';

export async function serve(config: Config, logger: Logger): Promise<void> {
  const platform = await startPlatform(config, logger);
  const modules = createApiModules(platform);
  await platform.startJobs('serve', config.jobs.inProcessWorker);
  const app = await buildApp(platform, { modules });
  // Fastify's close stops accepting, lets in-flight requests finish, then runs onClose.
  app.addHook('onClose', () => platform.stop());
  try {
    await app.listen({ host: config.host, port: config.port });
  } catch (error) {
    await app.close();
    throw error;
  }
  exitOnSignal(logger, config.shutdownGraceMs, () => app.close());
}
