// The accounts module: its service and guard (which other modules use), its routes and
// its jobs, as the module contract declares them.
import { AppError } from '../../platform/errors.ts';
import type { Module } from '../../platform/module.ts';
import type { Platform } from '../../platform/platform.ts';
import { createGuard, type Guard } from './guard.ts';
import { authJobs } from './jobs.ts';
import { sessionExpiry } from './repo.ts';
import { registerAuthRoutes } from './routes.ts';
import { AuthService } from './service.ts';

export interface AuthModule extends Module {
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
    routes: async (api) => {
      service.startSessionSync();
      api.addHook('onClose', () => service.stopSessionSync());
      // Before the first request, so the first registration does not wait on the backfill.
      await service.accounts.ensureEmailSkeletons();
      await registerAuthRoutes(api, service, guard);
    },
    jobs: authJobs(service),
    async identifyAccount(request) {
      try {
        return (await guard.identify(request))?.user.id;
      } catch (error) {
        // A bad or expired credential is the route's to refuse; here it is no one.
        if (error instanceof AppError) return undefined;
        throw error;
      }
    },
    authenticator: {
      async authenticateUpgrade(request) {
        const { user, session } = await guard.identifyUpgrade(request);
        return { userId: user.id, role: user.role, sessionId: session.id, expiresAt: sessionExpiry(session) };
      },
      liveSessions: (sessionIds) => service.liveSessions(sessionIds),
    },
  };
}
