// The composition root of the domains: builds each module once, handing modules the
// services of the others they call. Roles decide which parts of each module they run.
import type { Module } from '../platform/module.ts';
import type { Platform } from '../platform/platform.ts';
import { createAdminModule } from './admin/module.ts';
import { createAuthModule } from './auth/module.ts';
import { createDocumentsModule } from './documents/module.ts';
import type { DocumentsServiceOptions } from './documents/service.ts';
import { createKnowledgeModule, type KnowledgeModuleOptions } from './knowledge/module.ts';
import { createMonitoringModule } from './monitoring/module.ts';
import { createPollsModule } from './polls/module.ts';
import { createRenderModule } from './render/module.ts';

export interface ModuleOptions {
  documents?: DocumentsServiceOptions;
  knowledge?: KnowledgeModuleOptions;
}

export function createModules(platform: Platform, options: ModuleOptions = {}): Module[] {
  const auth = createAuthModule(platform);
  const render = createRenderModule(platform, auth.guard);
  const documents = createDocumentsModule(platform, auth.guard, render.service, options.documents);
  const admin = createAdminModule(platform, auth.service, auth.guard);
  const polls = createPollsModule(platform, auth.guard);
  const monitoring = createMonitoringModule(platform, auth.guard);
  const knowledge = createKnowledgeModule(platform, auth.guard, options.knowledge);
  return [auth, admin, documents, polls, render, monitoring, knowledge];
}
