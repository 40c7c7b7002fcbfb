// Search over the caller's chunks: full-text, vector, or hybrid (reciprocal rank fusion of
// the two top-N lists); where vectors cannot be used (no pgvector, provider down) it runs
// text and says so. Also the context builder's candidates.
import type { Logger } from 'pino';
import { type BuiltContext, buildContext } from './context.ts';
import { EmbeddingsError, type EmbeddingsProvider } from './embeddings/provider.ts';
import type { KnowledgeRepo, RankedChunkRow } from './repo.ts';

export type SearchMode = 'hybrid' | 'vector' | 'text';

// The constant of reciprocal rank fusion (Cormack et al. 2009): 1/(60 + rank) per list.
const RRF_K = 60;
const CANDIDATES_PER_HIT = 4;
const MIN_CANDIDATES = 40;

/** A ranked chunk; `score` is the fused score (hybrid) or the one side's score. */
export interface SearchHit extends RankedChunkRow {
  vector: { rank: number; score: number } | null;
  lexical: { rank: number; score: number } | null;
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

  async search(ownerId: string, query: string, k: number, requestedMode: SearchMode, signal?: AbortSignal): Promise<SearchOutcome> {
    const candidates = requestedMode === 'hybrid' ? Math.max(k * CANDIDATES_PER_HIT, MIN_CANDIDATES) : k;
    let vector: RankedChunkRow[] | undefined;
    let fallbackReason: string | null = null;
    if (requestedMode !== 'text') {
      if (!this.#vectorsSupported) fallbackReason = 'vector search is not available on this database (no pgvector)';
      else {
        const embedded = await this.#embedQuery(query, signal);
        if (typeof embedded === 'string') fallbackReason = embedded;
        else
          vector = await this.#repo.vectorRanking(
            ownerId,
            this.#provider.model,
            embedded,
            candidates,
            Math.max(this.#efSearch, candidates),
          );
      }
    }
    const text = vector && requestedMode === 'vector' ? undefined : await this.#repo.textRanking(ownerId, query, vector ? candidates : k);
    if (!vector) return { mode: 'text', requestedMode, fallbackReason, hits: single(text ?? [], 'lexical') };
    if (!text) return { mode: 'vector', requestedMode, fallbackReason, hits: single(vector, 'vector') };
    return { mode: 'hybrid', requestedMode, fallbackReason, hits: fuse(vector, text).slice(0, k) };
  }

  /** Highlighted fragments for the hits (the words of the query marked). */
  async snippets(hits: SearchHit[], query: string): Promise<Map<string, Snippet>> {
    if (hits.length === 0) return new Map();
    const raw = await this.#repo.headlines(
      hits.map((hit) => hit.chunkId),
      query,
    );
    return new Map([...raw].map(([id, marked]) => [id, parseHighlights(marked)]));
  }

  /** A context for a model prompt from the top hybrid hits (duplicates dropped, at most maxLength). */
  async context(
    ownerId: string,
    query: string,
    maxLength: number,
    k: number,
    signal?: AbortSignal,
  ): Promise<BuiltContext & { mode: SearchMode }> {
    const outcome = await this.search(ownerId, query, k, 'hybrid', signal);
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

function single(rows: RankedChunkRow[], side: 'vector' | 'lexical'): SearchHit[] {
  return rows.map((row, i) => ({
    ...row,
    vector: side === 'vector' ? { rank: i + 1, score: row.score } : null,
    lexical: side === 'lexical' ? { rank: i + 1, score: row.score } : null,
  }));
}

/** Reciprocal rank fusion: each list adds 1/(60 + rank); ties keep the vector order. */
export function fuse(vector: RankedChunkRow[], text: RankedChunkRow[]): SearchHit[] {
  const hits = new Map<string, SearchHit>();
  const add = (rows: RankedChunkRow[], side: 'vector' | 'lexical') => {
    rows.forEach((row, i) => {
      const hit = hits.get(row.chunkId) ?? { ...row, score: 0, vector: null, lexical: null };
      hit[side] = { rank: i + 1, score: row.score };
      hit.score += 1 / (RRF_K + i + 1);
      hits.set(row.chunkId, hit);
    });
  };
  add(vector, 'vector');
  add(text, 'lexical');
  return [...hits.values()].sort((a, b) => b.score - a.score);
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
