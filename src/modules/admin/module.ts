// The admin module: operator routes over accounts (through the accounts service) and
// durable jobs (through the platform's queue). Admin role only.
import type { Module } from '../../platform/module.ts';
import type { Platform } from '../../platform/platform.ts';
import type { Guard } from '../auth/guard.ts';
import type { AuthService } from '../auth/service.ts';
import { registerAdminJobRoutes } from './jobs-routes.ts';
import { registerAdminUserRoutes } from './routes.ts';

export function createAdminModule(platform: Platform, auth: AuthService, guard: Guard): Module {
  return {
    name: 'admin',
    routes: async (api) => {
      await registerAdminUserRoutes(api, auth, guard);
      await registerAdminJobRoutes(api, platform.jobs, guard, platform.realtime);
    },
    // The job queue publishes every attempt's state here (platform.ts); operators watch it live.
    topics: [{ prefix: 'jobs', maySubscribe: async (subscriber) => subscriber.role === 'admin' }],
  };
}
