// Picks the embeddings provider the settings ask for: the OpenAI-compatible API when
// EMBEDDINGS_URL is set, else the local offline embedder (which may still lack its table:
// the service starts anyway, and its check() says how to build it).
import type { Logger } from 'pino';
import type { KnowledgeConfig } from '../../../config.ts';
import type { Metrics } from '../../../platform/observability/metrics.ts';
import { HttpEmbeddings } from './http.ts';
import { LocalEmbeddings } from './local.ts';
import type { EmbeddingsProvider } from './provider.ts';

export { HttpEmbeddings } from './http.ts';
export { BUILD_COMMAND, LOCAL_MODEL, LocalEmbeddings } from './local.ts';
export { EmbeddingsError, type EmbeddingsFailureKind, type EmbeddingsProvider } from './provider.ts';

/** `metrics`: the API's circuit is reported as `rampart_circuit_breaker_state{dependency="embeddings"}`. */
export function createEmbeddingsProvider(
  config: KnowledgeConfig,
  logger: Logger,
  metrics?: Pick<Metrics, 'circuitBreaker'>,
): EmbeddingsProvider {
  const { embeddingsUrl, embeddingsModel } = config;
  if (embeddingsUrl === undefined || embeddingsModel === undefined)
    return new LocalEmbeddings({ tablePath: config.embeddingsTable }, logger);
  const provider = new HttpEmbeddings({ ...config, embeddingsUrl, embeddingsModel }, logger);
  metrics?.circuitBreaker('embeddings', provider.state());
  provider.onStateChange((state) => metrics?.circuitBreaker('embeddings', state));
  return provider;
}
