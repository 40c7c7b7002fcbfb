// Projects and code documents: uploads (path-checked, stored by content address,
// parsed by a job enqueued in the same transaction), listing, search, reading, deletion.
import { stat } from 'node:fs/promises';
import type { Logger } from 'pino';
import { ByteBoundedCache } from '../../platform/bounded-cache.ts';
import type { Transaction } from '../../platform/db/database.ts';
import { NotifiedCache } from '../../platform/db/notified-cache.ts';
import type { SingleWriterCache } from '../../platform/db/single-writer-cache.ts';
import { AppError } from '../../platform/errors.ts';
import { decodeCursor, isUuid, keysetPage } from '../../platform/http/keyset.ts';
import type { RequestContext } from '../../platform/http/request-context.ts';
import type { JobContext, JobSummary } from '../../platform/jobs/queue.ts';
import type { Platform } from '../../platform/platform.ts';
import { type ArchiveFormat, ArchiveRejected, unpackArchive } from './archive.ts';
import { BlobStore, sha256Hex } from './blob-store.ts';
import { NotTextError, parseDocument } from './parse.ts';
import { normaliseDocumentPath } from './paths.ts';
import { type DocumentListing, type DocumentRow, DocumentsRepo, type ProjectRow } from './repo.ts';

export const PARSE_JOB = 'documents.parse';
export const DOCUMENTS_TOPIC_PREFIX = 'documents:';
export const ORPHAN_SWEEP_JOB = 'documents.sweep-orphan-blobs';
export const IMPORT_JOB = 'documents.import';
/** The Postgres channel every write to documents notifies in the scale shape. */
const DOCUMENTS_CHANNEL = 'rampart_documents_changed';

export interface UploadFile {
  path: string;
  content: Buffer;
}

/** What an import job is given; `archive_id` names the archive's own file (blob-store.ts). */
export interface ImportJobData {
  project_id: string;
  archive_id?: string;
  format: ArchiveFormat;
}

// An import job ends (or is given up) within minutes; archives left behind by a crash go after a day.
const ARCHIVE_MAX_AGE_MS = 24 * 3_600_000;

export interface UploadResult {
  document: DocumentRow;
  /** False when identical content was already stored at that path (a no-op). */
  changed: boolean;
}

export interface DocumentsServiceOptions {
  /** Test seam: called inside the parse transaction after its first write. */
  afterFirstParseWrite?: (job: JobContext) => void;
}

export class DocumentsService {
  readonly #platform: Platform;
  readonly #repo: DocumentsRepo;
  readonly #blobs: BlobStore;
  readonly #options: DocumentsServiceOptions;
  /** Blobs a read found missing (for readiness), until they are back. */
  readonly #missingBlobs = new Set<string>();
  /**
   * Document text by content hash, kept as the UTF-8 bytes of its JSON string literal. Bytes
   * never change under their hash, so no process can serve a stale text, in either shape; a
   * read from it skips the file's open, read and close, about half a document read's CPU, and
   * kept encoded it skips JSON escaping and UTF-8 encoding too, another eighth (README,
   * "Benchmarks", the reads bench).
   */
  readonly #contents: ByteBoundedCache<Buffer>;
  /** Document rows by owner and id (repo.ts); in the scale shape it serves rows only while it hears other processes' writes. */
  readonly #rows: SingleWriterCache<DocumentRow> | undefined;

  constructor(platform: Platform, options: DocumentsServiceOptions = {}) {
    this.#platform = platform;
    this.#rows = platform.rowCache<DocumentRow>(DOCUMENTS_CHANNEL, platform.config.uploads.rowCacheMs);
    this.#repo = new DocumentsRepo(platform.db, this.#rows);
    this.#blobs = new BlobStore(platform.config.uploads.root);
    this.#contents = new ByteBoundedCache<Buffer>(platform.config.uploads.contentCacheBytes);
    this.#options = options;
  }

  /** Scale shape: starts hearing other processes' writes, and so caching rows (the API's processes: module.ts). */
  startRowCache(): void {
    if (this.#rows instanceof NotifiedCache) this.#rows.start();
  }

  async stopRowCache(): Promise<void> {
    if (this.#rows instanceof NotifiedCache) await this.#rows.stop();
  }

  /**
   * Every transaction that writes documents: announced once to the other processes (repo.ts),
   * and this process's cache emptied again after the commit, since a read between the write
   * and the commit saw the row before it and its own notification may come after its answer.
   */
  async #writeDocuments<T>(work: (tx: Transaction) => Promise<T>): Promise<T> {
    const result = await this.#platform.db.transaction(async (tx) => {
      const written = await work(tx);
      await this.#repo.announceChanges(tx.orm);
      return written;
    });
    this.#rows?.invalidate();
    return result;
  }

  createProject(ownerId: string, name: string): Promise<ProjectRow> {
    return this.#repo.insertProject(ownerId, name.trim());
  }

  listProjects(ownerId: string): Promise<ProjectRow[]> {
    return this.#repo.listProjects(ownerId);
  }

  async #project(ownerId: string, projectId: string): Promise<ProjectRow> {
    const project = await this.#repo.findProject(ownerId, projectId);
    // Someone else's project is indistinguishable from a missing one.
    if (!project) throw new AppError('NOT_FOUND', 'No such project');
    return project;
  }

  async upload(ownerId: string, projectId: string, files: UploadFile[], context: RequestContext): Promise<UploadResult[]> {
    await this.#project(ownerId, projectId);
    // Every path is checked before anything is written, so one bad path writes nothing at all.
    const checked = files.map((file) => ({ path: normaliseDocumentPath(file.path), content: file.content }));
    const paths = new Set<string>();
    for (const file of checked) {
      if (paths.has(file.path)) throw new AppError('VALIDATION_FAILED', `Path ${file.path} appears twice in one upload`);
      paths.add(file.path);
    }
    return this.#store(projectId, checked, context.requestId);
  }

  /**
   * Stores already-checked files: blobs first, then rows and parse jobs in one transaction.
   * Bytes are shared by content across accounts, so the transaction takes each blob's lock
   * and makes sure its bytes are (still) there before a row references them.
   */
  async #store(projectId: string, checked: UploadFile[], requestId: string): Promise<UploadResult[]> {
    const stored = await Promise.all(checked.map(async (file) => ({ ...file, sha256: await this.#blobs.put(file.content) })));
    const contentOf = new Map(stored.map((file) => [file.sha256, file.content]));
    try {
      return await this.#writeDocuments(async (tx) => {
        // One order for every transaction, so two uploads sharing blobs cannot deadlock.
        for (const sha256 of [...contentOf.keys()].sort()) {
          await this.#repo.lockBlob(tx.orm, sha256);
          await this.#blobs.restore(sha256, contentOf.get(sha256) as Buffer);
        }
        const results: UploadResult[] = [];
        for (const file of stored) {
          const existing = await this.#repo.findByPath(tx.orm, projectId, file.path);
          if (existing && existing.sha256 === file.sha256) {
            results.push({ document: existing, changed: false });
            continue;
          }
          const document = await this.#repo.upsertPending(tx.orm, {
            projectId,
            path: file.path,
            sha256: file.sha256,
            sizeBytes: file.content.length,
          });
          await this.#platform.jobs.enqueue(tx, PARSE_JOB, { document_id: document.id, sha256: file.sha256 }, requestId);
          results.push({ document, changed: true });
        }
        return results;
      });
    } catch (error) {
      // The rows never committed: blobs nobody references must not linger (the daily sweep
      // catches what this misses, e.g. while the database is down).
      for (const sha256 of contentOf.keys()) {
        await this.#releaseBlob(sha256).catch((cleanupError: unknown) => {
          // The original error is the one to report; the sweep removes what this leaves.
          this.#platform.logger.warn({ err: cleanupError, sha256 }, 'could not release the bytes of a failed upload');
        });
      }
      throw error;
    }
  }

  /** Removes a blob's bytes when no document references them, under the blob's lock; true when removed. */
  async #releaseBlob(sha256: string): Promise<boolean> {
    return this.#platform.db.transaction(async (tx) => {
      await this.#repo.lockBlob(tx.orm, sha256);
      if (await this.#repo.isBlobReferenced(tx.orm, sha256)) return false;
      // Removed while the lock is held: an upload of the same bytes waits, then writes them again.
      await this.#blobs.delete(sha256);
      this.#contents.delete(sha256);
      return true;
    });
  }

  /** Accepts an archive for import: stored, and unpacked by a job enqueued in the same transaction. */
  async startImport(ownerId: string, projectId: string, archive: Buffer, format: ArchiveFormat, context: RequestContext): Promise<string> {
    await this.#project(ownerId, projectId);
    const archiveId = await this.#blobs.putArchive(archive);
    const data: ImportJobData = { project_id: projectId, archive_id: archiveId, format };
    try {
      return await this.#platform.db.transaction((tx) => this.#platform.jobs.enqueue(tx, IMPORT_JOB, data, context.requestId));
    } catch (error) {
      await this.#blobs.deleteArchive(archiveId);
      throw error;
    }
  }

  /** An import's state and outcome, for the project's owner; any other job id is 404. */
  async importStatus(ownerId: string, projectId: string, jobId: string): Promise<JobSummary> {
    await this.#project(ownerId, projectId);
    const { data, ...job } = await this.#platform.jobs.get(jobId);
    if (job.type !== IMPORT_JOB || (data as { project_id?: unknown } | null)?.project_id !== projectId) {
      throw new AppError('NOT_FOUND', 'No such import in this project');
    }
    return job;
  }

  /**
   * The import job: unpacks with the archive limits and stores every file. A rejected
   * archive is an outcome (with a reason for the uploader), not a retry. The archive is
   * this import's alone, so it is deleted once the import has an outcome.
   */
  async importArchive(data: ImportJobData, job: JobContext) {
    // Jobs enqueued before archives had files of their own carry no archive_id.
    if (data.archive_id === undefined) return { status: 'rejected', reason: 'the uploaded archive is no longer stored; upload it again' };
    const { uploads } = this.#platform.config;
    let files: UploadFile[];
    try {
      files = await unpackArchive(
        this.#blobs.archivePathOf(data.archive_id),
        data.format,
        { maxEntries: uploads.maxArchiveEntries, maxTotalBytes: uploads.maxArchiveBytes, maxFileBytes: uploads.maxFileBytes },
        (error) => job.log.info({ err: error }, 'archive unreadable'),
        job.signal,
      );
    } catch (error) {
      if (!(error instanceof ArchiveRejected)) throw error;
      job.log.warn({ reason: error.message }, 'archive rejected');
      await this.#blobs.deleteArchive(data.archive_id);
      return { status: 'rejected', reason: error.message };
    }
    // A failed attempt stops here rather than write beside its retry.
    job.signal.throwIfAborted();
    const results = await this.#store(data.project_id, files, job.requestId);
    await this.#blobs.deleteArchive(data.archive_id);
    return { status: 'imported', files: results.length, changed: results.filter((result) => result.changed).length };
  }

  /** The parse job. Safe to run twice: a superseded or already-parsed version is skipped. */
  async parse(documentId: string, sha256: string, job: JobContext): Promise<void> {
    let content: Buffer;
    try {
      content = await this.#blobs.get(sha256);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      await this.#fail(documentId, sha256, 'stored content is missing', job.requestId);
      return;
    }
    if (sha256Hex(content) !== sha256) {
      await this.#fail(documentId, sha256, 'stored content does not match its checksum', job.requestId);
      return;
    }
    job.signal.throwIfAborted();
    const parsedRow = await this.#writeDocuments(async (tx) => {
      const document = await this.#repo.findDocument(tx.orm, documentId);
      if (!document || document.sha256 !== sha256 || document.state !== 'pending') {
        job.log.info({ document_id: documentId }, 'document changed or already parsed; nothing to do');
        return undefined;
      }
      let parsed: ReturnType<typeof parseDocument>;
      try {
        parsed = parseDocument(document.path, content);
      } catch (error) {
        if (!(error instanceof NotTextError)) throw error;
        return this.#repo.markParsed(tx.orm, documentId, sha256, {
          state: 'failed',
          failureReason: error.message,
          lineCount: null,
          language: null,
          symbols: null,
        });
      }
      const row = await this.#repo.markParsed(tx.orm, documentId, sha256, { state: 'ready', failureReason: null, ...parsed });
      this.#options.afterFirstParseWrite?.(job);
      return row;
    });
    this.#announceParsed(parsedRow, job.requestId);
  }

  async #fail(documentId: string, sha256: string, reason: string, requestId: string): Promise<void> {
    const row = await this.#writeDocuments((tx) =>
      this.#repo.markParsed(tx.orm, documentId, sha256, {
        state: 'failed',
        failureReason: reason,
        lineCount: null,
        language: null,
        symbols: null,
      }),
    );
    this.#announceParsed(row, requestId);
  }

  /** After the commit: the project's owner sees the parse state change live (`documents:<project_id>`). */
  #announceParsed(row: DocumentRow | undefined, requestId: string): void {
    if (!row) return;
    const data = { id: row.id, path: row.path, state: row.state, failure_reason: row.failureReason };
    this.#platform.realtime.publish(`${DOCUMENTS_TOPIC_PREFIX}${row.projectId}`, `document.${row.state}`, data, requestId);
  }

  /** Who may watch a project's documents live: its owner. */
  async mayWatchProject(userId: string, topic: string): Promise<boolean> {
    const projectId = topic.slice(DOCUMENTS_TOPIC_PREFIX.length);
    if (!isUuid(projectId)) return false;
    return (await this.#repo.findProject(userId, projectId)) !== undefined;
  }

  async list(ownerId: string, projectId: string, query: { prefix?: string; q?: string; cursor?: string; limit: number }) {
    await this.#project(ownerId, projectId);
    const [after] = query.cursor === undefined ? [] : decodeCursor(query.cursor, [(path) => path.length > 0]);
    const rows = await this.#repo.listInProject(projectId, { prefix: query.prefix, q: query.q, after, limit: query.limit + 1 });
    const { page, nextCursor } = keysetPage(rows, query.limit, (row) => [row.path]);
    return { documents: page, nextCursor };
  }

  searchAll(ownerId: string, q: string, limit: number): Promise<DocumentListing[]> {
    return this.#repo.searchForOwner(ownerId, q, limit);
  }

  /** A document of the owner's, or 404 (someone else's is indistinguishable from a missing one). */
  async find(ownerId: string, documentId: string): Promise<DocumentRow> {
    const document = await this.#repo.findDocumentForOwner(ownerId, documentId);
    if (!document) throw new AppError('NOT_FOUND', 'No such document');
    return document;
  }

  /** A document's content as text; 410 GONE when its stored bytes are missing. */
  async content(document: DocumentRow, context: RequestContext): Promise<string> {
    const cached = this.#contents.get(document.sha256);
    if (cached !== undefined) return JSON.parse(cached.toString('utf8')) as string;
    return (await this.#load(document, context)).text;
  }

  /** The same as the UTF-8 bytes of a JSON string literal, ready to go into a response body. */
  async contentJson(document: DocumentRow, context: RequestContext): Promise<Buffer> {
    return this.#contents.get(document.sha256) ?? (await this.#load(document, context)).json;
  }

  async #load(document: DocumentRow, context: RequestContext): Promise<{ text: string; json: Buffer }> {
    const content = await this.#blobs.get(document.sha256).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'ENOENT') throw error;
      // The row outlived its bytes (restored from an old backup, removed by hand): the
      // client is told plainly, operators by the log and by readiness until it is mended.
      this.#missingBlobs.add(document.sha256);
      context.log.error(
        { event: 'documents.blob_missing', document_id: document.id, sha256: document.sha256 },
        'document bytes are missing',
      );
      throw new AppError('GONE', 'The stored content of this document is missing; upload it again');
    });
    const text = content.toString('utf8');
    const json = Buffer.from(JSON.stringify(text));
    // Kept only when the bytes are the ones the row names: a damaged file is never pinned in memory.
    if (sha256Hex(content) === document.sha256) this.#contents.set(document.sha256, json);
    return { text, json };
  }

  /** A readiness check (never critical): fails while a document whose bytes were found missing still lacks them. */
  async checkStorage(): Promise<void> {
    if (this.#missingBlobs.size === 0) return;
    // Mended (the bytes are back), or moot (no document references them any more).
    const referenced = await this.#platform.db.transaction((tx) => this.#repo.referencedBlobs(tx.orm, [...this.#missingBlobs]));
    for (const sha256 of this.#missingBlobs) {
      if (!referenced.has(sha256) || (await this.#blobs.has(sha256))) this.#missingBlobs.delete(sha256);
    }
    if (this.#missingBlobs.size > 0) throw new Error(`${this.#missingBlobs.size} stored document blob(s) are missing`);
  }

  /** Deletes the row, then the bytes once no row references them; a crash in between leaves only an orphan blob for the sweep. */
  async delete(ownerId: string, documentId: string): Promise<void> {
    const document = await this.find(ownerId, documentId);
    await this.#writeDocuments((tx) => this.#repo.deleteDocument(tx.orm, documentId));
    await this.#releaseBlob(document.sha256);
  }

  /**
   * Housekeeping: removes blobs no document references (older than an hour, so bytes an
   * upload has just written are left to its transaction) and archives left by crashed imports.
   */
  async sweepOrphanBlobs(log: Logger): Promise<number> {
    const all = await this.#blobs.list();
    const referenced = await this.#platform.db.transaction((tx) => this.#repo.referencedBlobs(tx.orm, all));
    let removed = 0;
    for (const sha of all) {
      if (referenced.has(sha)) continue;
      const info = await stat(this.#blobs.pathOf(sha)).catch((error: NodeJS.ErrnoException) => {
        if (error.code === 'ENOENT') return undefined; // released meanwhile
        throw error;
      });
      if (info && Date.now() - info.mtimeMs > 3_600_000 && (await this.#releaseBlob(sha))) removed += 1;
    }
    const archives = await this.#blobs.sweepArchives(ARCHIVE_MAX_AGE_MS);
    log.info({ removed, archives_removed: archives }, 'orphan blobs swept');
    return removed;
  }
}
