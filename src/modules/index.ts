// The composition root of the domains: builds each module's service once and
// hands other modules the services they call.
import type { ApiModule } from '../app.ts';
import type { Platform } from '../platform/platform.ts';
import { registerAdminUserRoutes } from './admin/routes.ts';
import { createAuthModule } from './auth/module.ts';

export function createApiModules(platform: Platform): ApiModule[] {
  const auth = createAuthModule(platform);
  const admin: ApiModule = { name: 'admin', register: (api) => registerAdminUserRoutes(api, auth.service, auth.guard) };
  return [auth, admin];
}
