// The accounts module: its service and guard, and its routes (plus the admin user routes that use them).
import type { ApiModule } from '../../app.ts';
import type { Platform } from '../../platform/platform.ts';
import { createGuard, type Guard } from './guard.ts';
import { registerAuthRoutes } from './routes.ts';
import { AuthService } from './service.ts';

export interface AuthModule extends ApiModule {
  service: AuthService;
  guard: Guard;
}

export function createAuthModule(platform: Platform): AuthModule {
  const service = new AuthService(platform);
  const guard = createGuard(service, platform.config.corsOrigins);
  return {
    name: 'auth',
    service,
    guard,
    register: async (api) => {
      // Before the first request, so the first registration does not wait on the backfill.
      await service.ensureEmailSkeletons();
      await registerAuthRoutes(api, service, guard);
    },
  };
}
