// The knowledge module: entries, their embed and sweep jobs, search and context routes, and
// the readiness of the embeddings provider and of vector search, as the module contract
// declares them. The provider is the OpenAI-compatible API when EMBEDDINGS_URL is set,
// otherwise the local embedder.
import type { Module } from '../../platform/module.ts';
import type { Platform } from '../../platform/platform.ts';
import type { Guard } from '../auth/guard.ts';
import { createEmbeddingsProvider } from './embeddings/index.ts';
import type { EmbeddingsProvider } from './embeddings/provider.ts';
import { knowledgeJobs } from './jobs.ts';
import { registerKnowledgeRoutes } from './routes.ts';
import { KnowledgeSearch } from './search.ts';
import { KnowledgeService } from './service.ts';

export interface KnowledgeModule extends Module {
  service: KnowledgeService;
  search: KnowledgeSearch;
  provider: EmbeddingsProvider;
}

export interface KnowledgeModuleOptions {
  /** A provider other than the configured one (tests). */
  provider?: EmbeddingsProvider;
}

export function createKnowledgeModule(platform: Platform, guard: Guard, options: KnowledgeModuleOptions = {}): KnowledgeModule {
  const config = platform.config.knowledge;
  const provider = options.provider ?? createEmbeddingsProvider(config, platform.logger, platform.metrics);
  const service = new KnowledgeService(platform, provider);
  const search = new KnowledgeSearch({
    repo: service.repo,
    provider,
    vectorsSupported: service.vectorsSupported,
    efSearch: config.efSearch,
    logger: platform.logger,
    // A third of the search budget: what is left answers from text (TIME_BUDGET_SEARCH_MS).
    queryEmbeddingTimeoutMs: Math.max(50, Math.floor(platform.config.edge.budgets.search / 3)),
  });
  return {
    name: 'knowledge',
    service,
    search,
    provider,
    routes: (api) => registerKnowledgeRoutes(api, service, search, guard, config.maxEntryBytes),
    jobs: knowledgeJobs(service),
    readiness: [
      // Without pgvector the service works on text alone: reported, never a failure.
      { name: 'vector_search', critical: false, check: async () => (service.vectorsSupported ? undefined : 'degraded') },
      // Only where vectors are stored is the provider used; search falls back to text while it is down.
      ...(service.vectorsSupported ? [{ name: 'embeddings', critical: false, check: () => provider.check() }] : []),
    ],
  };
}
