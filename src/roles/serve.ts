// `rampart serve`: the HTTP API; in the embedded shape (and with IN_PROCESS_WORKER) it
// also runs the modules' jobs and loops, as `rampart worker` would.
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { buildApp } from '../app.ts';
import type { Config } from '../config.ts';
import { createModules, type ModuleOptions } from '../modules/index.ts';
import { drainThenClose } from '../platform/http/draining.ts';
import { exitOnSignal } from '../platform/lifecycle.ts';
import { type Platform, startPlatform } from '../platform/platform.ts';
import { startModules } from './module-parts.ts';

/**
 * Everything `serve` runs on a started platform: the modules, their jobs (and, with
 * `work`, their handlers and loops) and the app with their routes. Tests and benchmarks
 * build their servers through this too, so they run what `serve` runs. Closing the app
 * stops the loops and the platform.
 */
export async function buildServer(platform: Platform, options: { work: boolean; modules?: ModuleOptions }): Promise<FastifyInstance> {
  let stopLoops = async () => {};
  try {
    // Inside the try: a module that refuses to build (a bad alert rule) must stop the platform too.
    const modules = createModules(platform, options.modules);
    // Job types are defined even when another process runs them: routes enqueue them.
    stopLoops = await startModules(platform, modules, 'serve', options.work);
    const app = await buildApp(platform, { modules, webUi: true });
    // Fastify's close stops accepting, lets in-flight requests finish, then runs onClose.
    app.addHook('onClose', async () => {
      await stopLoops();
      await platform.stop();
    });
    return app;
  } catch (error) {
    // Whatever started must stop, or a failed start-up leaves jobs running and the lock held.
    await stopLoops();
    await platform.stop();
    throw error;
  }
}

export async function serve(config: Config, logger: Logger): Promise<void> {
  const platform = await startPlatform(config, logger);
  const app = await buildServer(platform, { work: config.jobs.inProcessWorker });
  try {
    await app.listen({ host: config.host, port: config.port });
  } catch (error) {
    await app.close();
    throw error;
  }
  exitOnSignal(logger, config.shutdownGraceMs, (signal) => drainThenClose(app, signal, config.shutdownDrainMs));
}
