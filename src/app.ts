// Builds the Fastify app: the hardened edge and platform routes first, then every
// domain module under /api/v1.
import cookie from '@fastify/cookie';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, LogController } from 'fastify';
import type { Config } from './config.ts';
import { AppError } from './platform/errors.ts';
import { registerHealthRoutes } from './platform/health.ts';
import { createClientErrorHandler } from './platform/http/client-errors.ts';
import { type ConnectionPolicy, registerShutdownDrain } from './platform/http/draining.ts';
import { registerErrorHandling, sendError } from './platform/http/error-handler.ts';
import { trackInFlightRequests } from './platform/http/in-flight.ts';
import { API_PREFIX, registerOpenApi } from './platform/http/openapi.ts';
import { requestAccount } from './platform/http/request-context.ts';
import { createRequestValidatorCompiler } from './platform/http/request-validation.ts';
import { type AppShell, registerWebUi } from './platform/http/web-ui.ts';
import type { Module } from './platform/module.ts';
import { lazyRootLogger } from './platform/observability/lazy-logger.ts';
import { registerMetricsRoute } from './platform/observability/metrics-route.ts';
import { requestIdFor } from './platform/observability/request-id.ts';
import type { Platform } from './platform/platform.ts';
import { RealtimeGateway } from './platform/realtime/gateway.ts';
import { registerRealtimeRoute, strayUpgradeRefusal } from './platform/realtime/route.ts';
import { registerCors } from './platform/security/cors.ts';
import { createResponseHeaderStamp } from './platform/security/headers.ts';
import { registerJsonBodyParser } from './platform/security/json-body.ts';
import { registerOverloadProtection } from './platform/security/overload.ts';
import { registerRateLimits } from './platform/security/rate-limit-hook.ts';
import { registerTimeBudgets } from './platform/security/time-budget.ts';

/**
 * Fastify dropped bare hop counts (they trust whatever connects directly); we keep
 * TRUST_PROXY=N for deployments reachable only through N proxies, as an explicit function.
 */
function trustProxyOption(setting: Config['trustProxy']): boolean | string[] | ((address: string, hop: number) => boolean) {
  if (typeof setting === 'number') return (_address, hop) => hop < setting;
  return setting;
}

declare module 'fastify' {
  interface FastifyInstance {
    /** This process's WebSocket gateway (when a module authenticates sockets): its stats are the tests' to read. */
    realtimeGateway: RealtimeGateway | undefined;
  }
}

/**
 * What the app needs of a platform: `serve` passes the whole one; `rampart render`, which has
 * no database, jobs or realtime, passes just these.
 */
export type AppPlatform = Pick<Platform, 'config' | 'logger' | 'readiness' | 'rateLimiters' | 'metrics' | 'errorReporter'> & {
  realtime?: Platform['realtime'];
};

export interface BuildAppOptions {
  /** Their routes are served under /api/v1 (the other parts are the roles' to run). */
  modules?: Module[];
  /** Serve the web UI at `/` when it is built (`serve` does; `rampart render` does not). */
  webUi?: boolean;
}

export async function buildApp(platform: AppPlatform, options: BuildAppOptions = {}): Promise<FastifyInstance> {
  const { config } = platform;
  const { edge } = config;
  const logger = platform.logger as FastifyBaseLogger;
  const stampResponseHeaders = createResponseHeaderStamp(config.nodeEnv === 'production');
  const app = Fastify({
    loggerInstance: lazyRootLogger(platform.logger),
    genReqId: requestIdFor,
    logController: new LogController({
      requestIdLogLabel: 'request_id',
      // Probes hit these every few seconds; their lines would drown the real traffic.
      disableRequestLogging: (request) => request.url.startsWith('/health/') || request.url === '/metrics',
    }),
    bodyLimit: config.maxRequestSize,
    trustProxy: trustProxyOption(config.trustProxy),
    // A request reaching a closing server (on a connection still open) is served with
    // Connection: close like any other, not answered with Fastify's own non-envelope 503.
    return503OnClosing: false,
    onProtoPoisoning: 'error',
    onConstructorPoisoning: 'error',
    requestTimeout: edge.requestTimeoutMs,
    keepAliveTimeout: edge.keepAliveTimeoutMs,
    http: {
      headersTimeout: edge.headersTimeoutMs,
      // Node checks request timeouts on this interval (30 s by default), too coarse for short budgets.
      connectionsCheckingInterval: Math.min(1_000, edge.requestTimeoutMs),
      // Node would answer a missing Host with a bare 400; the onRequest hook answers it in the envelope.
      requireHostHeader: false,
    },
    clientErrorHandler: createClientErrorHandler(logger),
    frameworkErrors: (error, request, reply) => {
      stampResponseHeaders(request, reply);
      sendError(request, reply, error);
    },
  });

  const { metrics } = platform;
  const connections: ConnectionPolicy = { closeEveryConnection: false };
  const inFlight = trackInFlightRequests(
    app,
    // Route templates, never raw URLs: a request that matched no route has no routeOptions.url.
    (request, reply) => metrics.observeRequest(request.routeOptions.url, request.method, reply.statusCode, reply.elapsedTime / 1000),
    connections,
  );
  app.addHook('onRequest', (request, reply, done) => {
    stampResponseHeaders(request, reply);
    inFlight.enter(reply);
    // HTTP/1.1 requires Host (RFC 9112 3.2); HTTP/1.0 clients may omit it.
    if (request.headers.host === undefined && request.raw.httpVersion === '1.1') {
      done(new AppError('VALIDATION_FAILED', 'An HTTP/1.1 request needs a Host header', { headers: { connection: 'close' } }));
      return;
    }
    // An upgrade request Node handed over (`raw.upgrade`) is answered here over HTTP unless the gateway takes it.
    // (`upgrade` is set by Node's parser and missing from its types.)
    done((request.raw as { upgrade?: boolean }).upgrade ? strayUpgradeRefusal(request, reply) : undefined);
  });
  // Before any route, so every schema (the modules' included) compiles with the request rules.
  app.setValidatorCompiler(createRequestValidatorCompiler());
  // Known after the UI's files are registered, last (so every hook above covers them too).
  let appShell: AppShell | undefined;
  registerErrorHandling(
    app,
    config.legacyApi,
    (error, request) =>
      platform.errorReporter.requestFailed(error, {
        requestId: request.id,
        route: request.routeOptions.url,
        method: request.method,
        accountId: requestAccount(request),
      }),
    (request, reply) => appShell?.(request, reply),
  );
  registerShutdownDrain(app, inFlight.replies, connections, platform.readiness);
  await registerOverloadProtection(app, edge);
  await registerCors(app, config.corsOrigins);
  registerJsonBodyParser(app, edge.jsonMaxDepth);
  registerTimeBudgets(app, edge.budgets, inFlight.replies);
  await registerOpenApi(app);
  registerHealthRoutes(app, platform.readiness);
  registerMetricsRoute(app, metrics, config.monitoring.metricsToken);
  const modules = options.modules ?? [];
  const authenticator = modules.find((module) => module.authenticator)?.authenticator;
  const gateway =
    authenticator && platform.realtime
      ? new RealtimeGateway({
          hub: platform.realtime,
          limits: config.realtime,
          topics: modules.flatMap((module) => module.topics ?? []),
          authenticator,
          logger,
          metrics: platform.metrics.realtime,
        })
      : undefined;
  app.decorate('realtimeGateway', gateway);

  await app.register(
    async (api) => {
      // Only the API reads or sets the session cookie: parsed on demand by the routes
      // that read it, and the plugin's onSend hook stays off every other response.
      await api.register(cookie, { hook: false });
      const identifyAccount = modules.find((module) => module.identifyAccount)?.identifyAccount;
      registerRateLimits(api, platform.rateLimiters, config.rateLimits, identifyAccount);
      if (gateway && authenticator) {
        // Close frames get a moment to leave before the server stops; never most of the grace period.
        const closeWaitMs = Math.min(2_000, Math.floor(config.shutdownGraceMs / 4));
        await registerRealtimeRoute(api, { gateway, authenticator, maxFrameBytes: config.realtime.maxFrameBytes, closeWaitMs });
      }
      for (const module of modules) {
        const { routes } = module;
        if (routes) await api.register(async (scope) => routes(scope));
      }
    },
    { prefix: API_PREFIX },
  );
  if (options.webUi) appShell = await registerWebUi(app);
  return app;
}
