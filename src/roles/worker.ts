// `rampart worker`: the background role of the scale shape: runs every module's job
// handlers and loops and beats its heartbeat until a signal. No API routes are built; with
// WORKER_HEALTH_PORT it answers /health/live and /health/ready, so an orchestrator can probe it.
import Fastify from 'fastify';
import type { Logger } from 'pino';
import type { Config } from '../config.ts';
import { createModules } from '../modules/index.ts';
import { registerHealthRoutes } from '../platform/health.ts';
import { exitOnSignal } from '../platform/lifecycle.ts';
import { type Platform, startPlatform } from '../platform/platform.ts';
import { startModules } from './module-parts.ts';

async function listenForProbes(platform: Platform, port: number) {
  const app = Fastify({ logger: false });
  registerHealthRoutes(app, platform.readiness);
  await app.listen({ host: platform.config.host, port });
  platform.logger.info({ port }, 'worker health endpoints listening');
  return app;
}

export async function worker(config: Config, logger: Logger): Promise<void> {
  const platform = await startPlatform(config, logger, { migrate: false });
  const stopLoops = await startModules(platform, createModules(platform), 'worker', true);
  const probes = config.jobs.healthPort === undefined ? undefined : await listenForProbes(platform, config.jobs.healthPort);
  logger.info('worker started');
  exitOnSignal(logger, config.shutdownGraceMs, async () => {
    await probes?.close();
    await stopLoops();
    await platform.stop();
  });
}
