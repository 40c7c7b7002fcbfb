// Builds the Fastify app: platform plugins first, then every domain module under /api/v1.
import cookie from '@fastify/cookie';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, LogController } from 'fastify';
import type { Config } from './config.ts';
import { registerHealthRoutes } from './platform/health.ts';
import { registerErrorHandling, sendError } from './platform/http/error-handler.ts';
import { API_PREFIX, registerOpenApi } from './platform/http/openapi.ts';
import { runWithRequestContext } from './platform/observability/request-context.ts';
import { REQUEST_ID_HEADER, requestIdFor } from './platform/observability/request-id.ts';
import type { Platform } from './platform/platform.ts';

/**
 * Fastify dropped bare hop counts (they trust whatever connects directly); we keep
 * TRUST_PROXY=N for deployments reachable only through N proxies, as an explicit function.
 */
function trustProxyOption(setting: Config['trustProxy']): boolean | string[] | ((address: string, hop: number) => boolean) {
  if (typeof setting === 'number') return (_address, hop) => hop < setting;
  return setting;
}

/** A domain module: registers its routes under /api/v1 with the platform at hand. */
export interface ApiModule {
  name: string;
  register(api: FastifyInstance): Promise<void>;
}

export interface BuildAppOptions {
  modules?: ApiModule[];
}

export async function buildApp(platform: Platform, options: BuildAppOptions = {}): Promise<FastifyInstance> {
  const { config } = platform;
  const app = Fastify({
    loggerInstance: platform.logger as FastifyBaseLogger,
    genReqId: requestIdFor,
    logController: new LogController({
      requestIdLogLabel: 'request_id',
      // Probes hit these every few seconds; their lines would drown the real traffic.
      disableRequestLogging: (request) => request.url.startsWith('/health/') || request.url === '/metrics',
    }),
    bodyLimit: config.maxRequestSize,
    trustProxy: trustProxyOption(config.trustProxy),
    ajv: { customOptions: { removeAdditional: false, coerceTypes: 'array', useDefaults: true } },
    frameworkErrors: (error, request, reply) => {
      reply.header(REQUEST_ID_HEADER, request.id);
      sendError(request, reply, error);
    },
  });

  app.addHook('onRequest', (request, reply, done) => {
    reply.header(REQUEST_ID_HEADER, request.id);
    runWithRequestContext({ requestId: request.id }, done);
  });
  registerErrorHandling(app, config.legacyApi);
  await app.register(cookie);
  await registerOpenApi(app);
  registerHealthRoutes(app, platform.readiness);

  await app.register(
    async (api) => {
      for (const module of options.modules ?? []) {
        await api.register(async (scope) => module.register(scope));
      }
    },
    { prefix: API_PREFIX },
  );
  return app;
}
