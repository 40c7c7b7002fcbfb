// The render module: POST /render and the render service other modules use (documents),
// as the module contract declares them; it calls the accounts module only through the guard.
import type { Module } from '../../platform/module.ts';
import type { Platform } from '../../platform/platform.ts';
import type { Guard } from '../auth/guard.ts';
import { registerRenderRoutes } from './routes.ts';
import { RenderService } from './service.ts';

export interface RenderModule extends Module {
  service: RenderService;
}

export function createRenderModule(platform: Platform, guard: Guard): RenderModule {
  const { config } = platform;
  const redis = platform.redis ? { client: platform.redis, keyPrefix: config.redisKeyPrefix } : undefined;
  const service = new RenderService(config.render, { redis });
  return {
    name: 'render',
    service,
    routes: (api) => registerRenderRoutes(api, service, guard),
  };
}
