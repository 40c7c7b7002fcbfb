// Knowledge entries: accepted with a job enqueued in the same transaction, chunked and
// embedded by that job (idempotent: it replaces the entry's chunks), read, listed, deleted;
// plus the sweep that re-embeds what a provider outage or a model change left behind.
import { AppError } from '../../platform/errors.ts';
import { decodeCursor, isTimestampText, isUuid, keysetPage } from '../../platform/http/keyset.ts';
import type { RequestContext } from '../../platform/http/request-context.ts';
import type { JobContext } from '../../platform/jobs/queue.ts';
import type { Platform } from '../../platform/platform.ts';
import { chunkContent } from './chunker.ts';
import { EmbeddingsError, type EmbeddingsProvider } from './embeddings/provider.ts';
import { type EntryRow, KnowledgeRepo, type NewChunk } from './repo.ts';
import { identifierWords } from './text.ts';

export const EMBED_JOB = 'knowledge.embed';
export const SWEEP_JOB = 'knowledge.sweep';
export const EMBED_RETRY_LIMIT = 8;
/** A pending entry nothing has touched for this long lost its job's retries: the sweep enqueues it again. */
const STALE_PENDING_MS = 15 * 60_000;
const SWEEP_BATCH = 500;

export interface NewEntry {
  title: string;
  content: string;
  tags: string[];
  sourceUrl: string | null;
}

export interface Caller {
  id: string;
  role: string;
}

export class KnowledgeService {
  readonly repo: KnowledgeRepo;
  readonly provider: EmbeddingsProvider;
  readonly #platform: Platform;

  constructor(platform: Platform, provider: EmbeddingsProvider) {
    this.#platform = platform;
    this.repo = new KnowledgeRepo(platform.db);
    this.provider = provider;
  }

  /** Vector search is possible: the database has pgvector (the provider may still be down). */
  get vectorsSupported(): boolean {
    return this.#platform.capabilities.vector;
  }

  async create(ownerId: string, entry: NewEntry, context: RequestContext): Promise<EntryRow> {
    const bytes = Buffer.byteLength(entry.content);
    const limit = this.#platform.config.knowledge.maxEntryBytes;
    if (bytes > limit) throw new AppError('PAYLOAD_TOO_LARGE', `The entry's content is ${bytes} bytes; the limit is ${limit}`);
    return this.#platform.db.transaction(async (tx) => {
      const row = await this.repo.insertEntry(ownerId, entry, tx);
      await this.#platform.jobs.enqueue(tx, EMBED_JOB, { entry_id: row.id }, context.requestId);
      return row;
    });
  }

  /** The caller's entry; another account's is NOT_FOUND (its existence is not disclosed). */
  async get(caller: Caller, id: string): Promise<EntryRow> {
    const entry = await this.repo.findEntry(id);
    if (!entry || entry.ownerId !== caller.id) throw new AppError('NOT_FOUND', 'No such knowledge entry');
    return entry;
  }

  async listMine(ownerId: string, limit: number, cursor: string | undefined): Promise<{ entries: EntryRow[]; nextCursor: string | null }> {
    const after = cursor === undefined ? undefined : (decodeCursor(cursor, [isTimestampText, isUuid]) as [string, string]);
    const rows = await this.repo.listForOwner(ownerId, limit + 1, after);
    const { page, nextCursor } = keysetPage(rows, limit, (row) => [row.position, row.id]);
    return { entries: page.map(({ position: _position, ...entry }) => entry), nextCursor };
  }

  async delete(caller: Caller, id: string): Promise<void> {
    await this.get(caller, id);
    await this.repo.deleteEntry(id);
  }

  /**
   * The embed job: chunks the entry and, where vectors are supported, embeds the chunks;
   * stores both in one transaction. A provider outage stores the text (searchable at once)
   * and throws, so the job retries with backoff; a refusal marks the entry failed.
   */
  async embedEntry(entryId: string, job: JobContext): Promise<unknown> {
    const entry = await this.repo.findEntry(entryId);
    if (!entry) return { skipped: 'deleted' };
    const { chunkChars, chunkOverlapChars } = this.#platform.config.knowledge;
    const chunks: NewChunk[] = chunkContent(entry.content, { targetChars: chunkChars, overlapChars: chunkOverlapChars }).map((chunk) => ({
      ...chunk,
      identifierWords: identifierWords(chunk.text),
    }));
    if (!this.vectorsSupported) {
      await this.repo.storeChunks(entry, chunks, { state: 'ready', model: null });
      return { chunks: chunks.length, vectors: 0, reason: 'the database has no vector extension' };
    }
    let vectors: Float32Array[];
    try {
      vectors = await this.provider.embed(
        chunks.map((chunk) => embeddingText(entry.title, chunk)),
        job.signal,
      );
    } catch (error) {
      if (!(error instanceof EmbeddingsError)) throw error;
      const lastAttempt = job.attempt >= EMBED_RETRY_LIMIT;
      if (error.kind === 'rejected' || (error.kind === 'malformed' && lastAttempt)) {
        await this.repo.storeChunks(entry, chunks, {
          state: 'failed',
          model: null,
          failureReason: `embeddings ${error.kind}: ${error.message}`,
        });
        return { chunks: chunks.length, vectors: 0, failed: error.kind };
      }
      // Text search finds the entry while its vectors wait for the provider.
      await this.repo.storeChunks(entry, chunks, { state: 'pending', model: null });
      throw error;
    }
    const dimensions = vectors[0]?.length;
    if (dimensions !== undefined) await this.repo.ensureVectorIndex(this.provider.model, dimensions);
    await this.repo.storeChunks(entry, chunks, { state: 'ready', model: this.provider.model, vectors });
    job.log.info({ entryId, chunks: chunks.length, model: this.provider.model }, 'knowledge entry embedded');
    return { chunks: chunks.length, vectors: vectors.length, model: this.provider.model };
  }

  /** Enqueues the entries an outage or a model change left without current vectors. */
  async sweep(job: JobContext): Promise<{ enqueued: number }> {
    const model = this.vectorsSupported ? this.provider.model : null;
    const ids = await this.repo.entriesToEmbed(model, STALE_PENDING_MS, SWEEP_BATCH);
    if (ids.length === 0) return { enqueued: 0 };
    await this.#platform.db.transaction(async (tx) => {
      for (const id of ids) await this.#platform.jobs.enqueue(tx, EMBED_JOB, { entry_id: id }, job.requestId);
    });
    await this.repo.touch(ids);
    job.log.info({ enqueued: ids.length, model }, 'knowledge entries enqueued for embedding');
    return { enqueued: ids.length };
  }
}

/** What is embedded for a chunk: its entry's title and headings give it context. */
export function embeddingText(title: string, chunk: { heading: string; text: string }): string {
  return [title, chunk.heading, chunk.text].filter(Boolean).join('\n');
}
