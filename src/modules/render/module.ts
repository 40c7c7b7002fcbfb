// The render module: POST /render and the render service other modules use (documents),
// as the module contract declares them; it calls the accounts module only through the guard.
// With RENDER_URL it renders through the `rampart render` service (remote.ts), whose own
// module value (the internal route) is built here too.
import type { Config } from '../../config.ts';
import type { Module } from '../../platform/module.ts';
import type { Metrics } from '../../platform/observability/metrics.ts';
import type { Platform } from '../../platform/platform.ts';
import type { Guard } from '../auth/guard.ts';
import { registerInternalRenderRoutes } from './internal-routes.ts';
import { HttpRemoteRenderer } from './remote.ts';
import { registerRenderRoutes } from './routes.ts';
import { RenderService } from './service.ts';

export interface RenderModule extends Module {
  service: RenderService;
}

export function createRenderModule(platform: Platform, guard: Guard): RenderModule {
  const { config } = platform;
  const { url, token } = config.render;
  const redis = platform.redis ? { client: platform.redis, keyPrefix: config.redisKeyPrefix } : undefined;
  // config.ts refuses RENDER_URL without RENDER_TOKEN.
  const remote = url && token ? new HttpRemoteRenderer({ ...config.render, url, token }, platform.logger) : undefined;
  if (remote) {
    platform.metrics.circuitBreaker('render', 'closed');
    remote.onStateChange((state) => platform.metrics.circuitBreaker('render', state === 'half-open' ? 'half_open' : state));
  }
  const service = new RenderService(config.render, { redis, remote });
  platform.metrics.trackRenderPool(() => service.pool.stats);
  return {
    name: 'render',
    service,
    routes: (api) => registerRenderRoutes(api, service, guard),
    // Not critical: with the circuit open the API renders in-process, ready but degraded.
    readiness: remote ? [{ name: 'render', critical: false, check: () => service.readiness() }] : [],
  };
}

/** What `rampart render` serves: the internal render route, rendering in its own worker pool. */
export function createRenderServiceModule(config: Config, token: string, metrics: Metrics): RenderModule {
  const service = new RenderService(config.render);
  metrics.trackRenderPool(() => service.pool.stats);
  return {
    name: 'render-service',
    service,
    routes: (api) => registerInternalRenderRoutes(api, service, token, config.render.maxBytes),
  };
}
