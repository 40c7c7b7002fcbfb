// TEMPORARY (replaced by the embed branch): picks the embeddings provider.
import type { Logger } from 'pino';
import type { KnowledgeConfig } from '../../../config.ts';
import { EmbeddingsError, type EmbeddingsProvider } from './provider.ts';

export function createEmbeddingsProvider(_config: KnowledgeConfig, _logger: Logger): EmbeddingsProvider {
  return {
    model: 'local:none',
    embed: async () => {
      throw new EmbeddingsError('unavailable', 'no provider yet');
    },
    check: async () => {
      throw new Error('no provider yet');
    },
    close: async () => {},
  };
}
