// The documents module: projects and code documents, as the module contract declares them
// (routes, jobs, a readiness check on stored bytes). It calls the accounts and render modules
// only through the guard and the render service it is given.
import type { Module } from '../../platform/module.ts';
import type { Platform } from '../../platform/platform.ts';
import type { Guard } from '../auth/guard.ts';
import type { RenderService } from '../render/service.ts';
import { documentJobs } from './jobs.ts';
import { registerDocumentRoutes } from './routes.ts';
import { DOCUMENTS_TOPIC_PREFIX, DocumentsService, type DocumentsServiceOptions } from './service.ts';

export interface DocumentsModule extends Module {
  service: DocumentsService;
}

export function createDocumentsModule(
  platform: Platform,
  guard: Guard,
  render: RenderService,
  options: DocumentsServiceOptions = {},
): DocumentsModule {
  const service = new DocumentsService(platform, options);
  return {
    name: 'documents',
    service,
    routes: async (api) => {
      // Only the API's processes read documents through the row cache: they keep it in step.
      service.startRowCache();
      api.addHook('onClose', () => service.stopRowCache());
      await registerDocumentRoutes(api, service, guard, platform.config.uploads, render);
    },
    jobs: documentJobs(service),
    // The parse job announces document.ready / document.failed here; the project's owner may listen.
    topics: [{ prefix: DOCUMENTS_TOPIC_PREFIX, maySubscribe: (subscriber, topic) => service.mayWatchProject(subscriber.userId, topic) }],
    // Not critical: one document's missing bytes must not take the whole API out of rotation.
    readiness: [{ name: 'document_storage', critical: false, check: () => service.checkStorage() }],
  };
}
