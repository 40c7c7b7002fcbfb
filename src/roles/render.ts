// `rampart render`: the internal render service. The same hardened edge as the API (the app
// builder, its own /health/* and /metrics), the render module's internal route, and no
// database, jobs or Redis.
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { buildApp } from '../app.ts';
import { type Config, ConfigError } from '../config.ts';
import { createRenderServiceModule } from '../modules/render/module.ts';
import { ReadinessRegistry } from '../platform/health.ts';
import { drainThenClose } from '../platform/http/draining.ts';
import { exitOnSignal } from '../platform/lifecycle.ts';
import { createErrorReporter } from '../platform/observability/error-reporting.ts';
import { Metrics } from '../platform/observability/metrics.ts';
import { RateLimiters } from '../platform/security/rate-limiters.ts';

/** The render service's app (tests build it in-process too). */
export async function buildRenderServer(config: Config, logger: Logger): Promise<FastifyInstance> {
  const token = config.render.token;
  if (token === undefined) throw new ConfigError('RENDER_TOKEN', 'must be set for rampart render (the API sends it)');
  const readiness = new ReadinessRegistry(config.healthCheckTimeoutMs, (name, error) =>
    logger.warn({ err: error, component: name }, 'readiness check failed'),
  );
  const metrics = new Metrics({ readiness: () => readiness.evaluate() });
  // Its one route is exempt from per-IP limits (the API is its only client); in-memory limiters serve nothing else.
  const rateLimiters = new RateLimiters(undefined, config.redisKeyPrefix, metrics);
  const errorReporter = await createErrorReporter({ dsn: config.monitoring.sentryDsn, environment: config.nodeEnv, logger });
  const app = await buildApp(
    { config, logger, readiness, rateLimiters, metrics, errorReporter },
    { modules: [createRenderServiceModule(config, token, metrics)] },
  );
  app.addHook('onClose', async () => errorReporter.close());
  return app;
}

export async function render(config: Config, logger: Logger): Promise<void> {
  const app = await buildRenderServer(config, logger);
  try {
    await app.listen({ host: config.host, port: config.render.port });
  } catch (error) {
    await app.close();
    throw error;
  }
  exitOnSignal(logger, config.shutdownGraceMs, (signal) => drainThenClose(app, signal, config.shutdownDrainMs));
}
