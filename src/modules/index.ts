// The composition root of the domains: builds each module's service once and
// hands other modules the services they call.
import type { ApiModule } from '../app.ts';
import type { Platform } from '../platform/platform.ts';
import { registerAdminJobRoutes } from './admin/jobs-routes.ts';
import { registerAdminUserRoutes } from './admin/routes.ts';
import { createAuthModule } from './auth/module.ts';
import { registerDocumentRoutes } from './documents/routes.ts';
import { DocumentsService, type DocumentsServiceOptions } from './documents/service.ts';

export interface ModuleOptions {
  documents?: DocumentsServiceOptions;
}

export function createApiModules(platform: Platform, options: ModuleOptions = {}): ApiModule[] {
  const auth = createAuthModule(platform);
  const documents = new DocumentsService(platform, options.documents);
  platform.readiness.register({ name: 'document_storage', critical: false, check: () => documents.checkStorage() });
  const admin: ApiModule = {
    name: 'admin',
    register: async (api) => {
      await registerAdminUserRoutes(api, auth.service, auth.guard);
      await registerAdminJobRoutes(api, platform.jobs, auth.guard);
    },
  };
  const documentsModule: ApiModule = {
    name: 'documents',
    register: (api) => registerDocumentRoutes(api, documents, auth.guard, platform.config.uploads),
  };
  return [auth, admin, documentsModule];
}
