// Search over the caller's chunks: full-text, vector, or hybrid (reciprocal rank fusion of
// the two top-N lists, fused in SQL); where vectors cannot be used (no pgvector, provider
// down) it runs text and says so. Also the context builder's candidates.
import type { Logger } from 'pino';
import { type BuiltContext, buildContext } from './context.ts';
import { EmbeddingsError, type EmbeddingsProvider } from './embeddings/provider.ts';
import type { FusedChunkRow, KnowledgeRepo, RankedChunkRow } from './repo.ts';

export type SearchMode = 'hybrid' | 'vector' | 'text';

const CANDIDATES_PER_HIT = 4;
const MIN_CANDIDATES = 40;

/** A ranked chunk; `score` is the fused score (hybrid) or the one side's score. */
export interface SearchHit extends Omit<RankedChunkRow, 'snippet'> {
  vector: { rank: number; score: number } | null;
  lexical: { rank: number; score: number } | null;
  /** The highlighted fragment, when the search was asked for snippets. */
  snippet: Snippet | null;
}

export interface SearchOutcome {
  mode: SearchMode;
  requestedMode: SearchMode;
  /** Why the mode is not the one asked for. */
  fallbackReason: string | null;
  hits: SearchHit[];
}

export interface Snippet {
  text: string;
  /** [start, end) character ranges of the matched words in `text`. */
  highlights: [number, number][];
}

export class KnowledgeSearch {
  readonly #repo: KnowledgeRepo;
  readonly #provider: EmbeddingsProvider;
  readonly #vectorsSupported: boolean;
  readonly #efSearch: number;
  readonly #logger: Logger;
  readonly #queryEmbeddingTimeoutMs: number;

  constructor(options: {
    repo: KnowledgeRepo;
    provider: EmbeddingsProvider;
    vectorsSupported: boolean;
    efSearch: number;
    logger: Logger;
    /** A query not embedded by then is searched by text: a slow provider must not spend the request's time budget. */
    queryEmbeddingTimeoutMs: number;
  }) {
    this.#queryEmbeddingTimeoutMs = options.queryEmbeddingTimeoutMs;
    this.#repo = options.repo;
    this.#provider = options.provider;
    this.#vectorsSupported = options.vectorsSupported;
    this.#efSearch = options.efSearch;
    this.#logger = options.logger;
  }

  /**
   * The top `k` chunks for `query`; with `snippets`, each hit has its highlighted fragment
   * (ts_headline, the words of the query marked), computed in the same statement for the k
   * hits only.
   */
  async search(
    ownerId: string,
    query: string,
    k: number,
    requestedMode: SearchMode,
    options: { signal?: AbortSignal; snippets?: boolean } = {},
  ): Promise<SearchOutcome> {
    const snippets = options.snippets ?? false;
    let fallbackReason: string | null = null;
    let embedded: Float32Array | undefined;
    if (requestedMode !== 'text') {
      if (!this.#vectorsSupported) fallbackReason = 'vector search is not available on this database (no pgvector)';
      else {
        const answer = await this.#embedQuery(query, options.signal);
        if (typeof answer === 'string') fallbackReason = answer;
        else embedded = answer;
      }
    }
    if (!embedded) {
      const rows = await this.#repo.textRanking(ownerId, query, k, snippets);
      return { mode: 'text', requestedMode, fallbackReason, hits: rows.map((row, i) => single(row, i, 'lexical')) };
    }
    const model = this.#provider.model;
    if (requestedMode === 'vector') {
      const rows = await this.#repo.vectorRanking(ownerId, model, embedded, k, Math.max(this.#efSearch, k), snippets ? query : undefined);
      return { mode: 'vector', requestedMode, fallbackReason, hits: rows.map((row, i) => single(row, i, 'vector')) };
    }
    const candidates = Math.max(k * CANDIDATES_PER_HIT, MIN_CANDIDATES);
    const rows = await this.#repo.hybridRanking(ownerId, model, query, embedded, {
      candidates,
      limit: k,
      efSearch: Math.max(this.#efSearch, candidates),
      snippets,
    });
    return { mode: 'hybrid', requestedMode, fallbackReason, hits: rows.map(fused) };
  }

  /** A context for a model prompt from the top hybrid hits (duplicates dropped, at most maxLength). */
  async context(
    ownerId: string,
    query: string,
    maxLength: number,
    k: number,
    signal?: AbortSignal,
  ): Promise<BuiltContext & { mode: SearchMode }> {
    const outcome = await this.search(ownerId, query, k, 'hybrid', signal ? { signal } : {});
    return { ...buildContext(outcome.hits, maxLength), mode: outcome.mode };
  }

  /** The query's vector, or why there is none (the search then runs on text). */
  async #embedQuery(query: string, signal?: AbortSignal): Promise<Float32Array | string> {
    try {
      const deadline = AbortSignal.timeout(this.#queryEmbeddingTimeoutMs);
      const [vector] = await this.#provider.embed([query], signal ? AbortSignal.any([signal, deadline]) : deadline);
      if (!vector) return 'the embeddings provider returned no vector';
      return vector;
    } catch (error) {
      if (!(error instanceof EmbeddingsError)) throw error;
      this.#logger.warn({ err: error }, 'query not embedded; searching text only');
      return `the embeddings provider is ${error.kind === 'unavailable' ? 'unavailable' : 'failing'}: ${error.message}`;
    }
  }
}

function single({ snippet, ...row }: RankedChunkRow, i: number, side: 'vector' | 'lexical'): SearchHit {
  return {
    ...row,
    vector: side === 'vector' ? { rank: i + 1, score: row.score } : null,
    lexical: side === 'lexical' ? { rank: i + 1, score: row.score } : null,
    snippet: snippet === undefined ? null : parseHighlights(snippet),
  };
}

function fused({ vectorRank, vectorScore, textRank, textScore, snippet, ...row }: FusedChunkRow): SearchHit {
  return {
    ...row,
    vector: vectorRank === null ? null : { rank: vectorRank, score: vectorScore as number },
    lexical: textRank === null ? null : { rank: textRank, score: textScore as number },
    snippet: snippet === undefined ? null : parseHighlights(snippet),
  };
}

/** ts_headline's output with \uE000…\uE001 around matches → plain text + ranges. */
export function parseHighlights(marked: string): Snippet {
  const highlights: [number, number][] = [];
  let text = '';
  let start = -1;
  for (const char of marked) {
    if (char === '\uE000') start = text.length;
    else if (char === '\uE001') {
      if (start >= 0) highlights.push([start, text.length]);
      start = -1;
    } else text += char;
  }
  return { text, highlights };
}
