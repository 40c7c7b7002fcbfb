// Database access of the documents module: projects and documents.
import { and, desc, eq, inArray, or, type SQL, sql } from 'drizzle-orm';
import type { Database, Orm } from '../../platform/db/database.ts';
import { NotifiedCache } from '../../platform/db/notified-cache.ts';
import { cachedRead, cachedWrite, type SingleWriterCache } from '../../platform/db/single-writer-cache.ts';
import { documents, projects } from './schema.ts';

export type ProjectRow = typeof projects.$inferSelect;
export type DocumentRow = typeof documents.$inferSelect;
/** A document without its (potentially large) symbol list, for listings. */
export type DocumentListing = Pick<DocumentRow, 'id' | 'projectId' | 'path' | 'state' | 'sizeBytes' | 'language' | 'updatedAt'>;

/** Escapes LIKE's wildcards so user text matches literally. */
export function likeLiteral(text: string): string {
  return text.replace(/[\\%_]/g, (char) => `\\${char}`);
}

/**
 * Case-insensitive substring match of `q` in the paths of one project. The ILIKE decides;
 * the per-project trigram keys (migration 0004) find the candidates through the index.
 */
function pathContains(projectId: string, q: string): SQL {
  const conditions = [eq(documents.projectId, projectId), sql`${documents.path} ilike ${`%${likeLiteral(q)}%`}`];
  // Under three characters there is no trigram to look up: the ILIKE alone walks the project in path order.
  if ([...q].length >= 3) {
    conditions.push(
      sql`document_search_tokens(${documents.projectId}, ${documents.path}) @> document_search_tokens(${projectId}::uuid, ${q})`,
    );
  }
  return and(...conditions) as SQL;
}

/** Projects searched per statement by searchForOwner: 1, then 4, 16, ... */
const SEARCH_BATCH_GROWTH = 4;

const listingColumns = {
  id: documents.id,
  projectId: documents.projectId,
  path: documents.path,
  state: documents.state,
  sizeBytes: documents.sizeBytes,
  language: documents.language,
  updatedAt: documents.updatedAt,
};

export class DocumentsRepo {
  readonly #db: Database;
  readonly #documents: SingleWriterCache<DocumentRow> | undefined;

  // Every document read runs this one: built once (Drizzle's query builder costs more per
  // call than the query itself, bench/reads.ts), and a named statement on Postgres.
  readonly #findForOwner;

  /** `documentCache`: the platform's row cache (a NotifiedCache in the scale shape); none, no caching. */
  constructor(db: Database, documentCache?: SingleWriterCache<DocumentRow>) {
    this.#db = db;
    this.#documents = documentCache;
    this.#findForOwner = db.orm
      .select({ document: documents })
      .from(documents)
      .innerJoin(projects, eq(projects.id, documents.projectId))
      .where(and(eq(documents.id, sql.placeholder('documentId')), eq(projects.ownerId, sql.placeholder('ownerId'))))
      .limit(1)
      .prepare('documents_find_for_owner');
  }

  /**
   * Every write to documents runs inside this: a cached document could be stale after it.
   * (The service's transaction around it tells the other processes: service.ts, #writeDocuments.)
   */
  #changing<T>(write: () => Promise<T>): Promise<T> {
    return cachedWrite(this.#documents, write);
  }

  /** Scale shape (a NotifiedCache, whatever its age limit): every process that caches documents hears of `tx`'s writes once it commits. */
  async announceChanges(tx: Orm): Promise<void> {
    if (this.#documents instanceof NotifiedCache) await tx.execute(sql.raw(this.#documents.notifyStatement));
  }

  async insertProject(ownerId: string, name: string): Promise<ProjectRow> {
    return (await this.#db.orm.insert(projects).values({ ownerId, name }).returning())[0] as ProjectRow;
  }

  async listProjects(ownerId: string): Promise<ProjectRow[]> {
    return this.#db.orm.select().from(projects).where(eq(projects.ownerId, ownerId)).orderBy(sql`${projects.createdAt} desc`).limit(500);
  }

  async findProject(ownerId: string, projectId: string): Promise<ProjectRow | undefined> {
    return (
      await this.#db.orm
        .select()
        .from(projects)
        .where(and(eq(projects.id, projectId), eq(projects.ownerId, ownerId)))
        .limit(1)
    )[0];
  }

  findDocumentForOwner(ownerId: string, documentId: string): Promise<DocumentRow | undefined> {
    return cachedRead(
      this.#documents,
      `${ownerId}:${documentId}`,
      async () => (await this.#findForOwner.execute({ documentId, ownerId }))[0]?.document,
    );
  }

  async findDocument(tx: Orm, documentId: string): Promise<DocumentRow | undefined> {
    return (await tx.select().from(documents).where(eq(documents.id, documentId)).limit(1))[0];
  }

  async findByPath(tx: Orm, projectId: string, path: string): Promise<DocumentRow | undefined> {
    return (
      await tx
        .select()
        .from(documents)
        .where(and(eq(documents.projectId, projectId), eq(documents.path, path)))
        .for('update')
        .limit(1)
    )[0];
  }

  /** Inserts the document, or replaces the content of the one at that path; state goes back to pending. */
  async upsertPending(tx: Orm, values: { projectId: string; path: string; sha256: string; sizeBytes: number }): Promise<DocumentRow> {
    const rows = await this.#changing(() =>
      tx
        .insert(documents)
        .values({ ...values, state: 'pending' })
        .onConflictDoUpdate({
          target: [documents.projectId, documents.path],
          set: {
            sha256: values.sha256,
            sizeBytes: values.sizeBytes,
            state: 'pending',
            failureReason: null,
            lineCount: null,
            language: null,
            symbols: null,
            updatedAt: sql`now()`,
          },
        })
        .returning(),
    );
    return rows[0] as DocumentRow;
  }

  /**
   * Records the parse of one version: only while the row still holds that version and
   * waits for it, so a re-upload committed in between keeps its own pending state.
   */
  async markParsed(
    tx: Orm,
    id: string,
    sha256: string,
    values: Pick<DocumentRow, 'state' | 'failureReason' | 'lineCount' | 'language' | 'symbols'>,
  ): Promise<DocumentRow | undefined> {
    const rows = await this.#changing(() =>
      tx
        .update(documents)
        .set({ ...values, updatedAt: sql`now()` })
        .where(and(eq(documents.id, id), eq(documents.sha256, sha256), eq(documents.state, 'pending')))
        .returning(),
    );
    return rows[0];
  }

  async deleteDocument(tx: Orm, id: string): Promise<DocumentRow | undefined> {
    return (await this.#changing(() => tx.delete(documents).where(eq(documents.id, id)).returning()))[0];
  }

  /**
   * Holds the blob's lock until `tx` ends. Every transaction that adds a reference to a
   * blob, and every removal of its bytes, takes it first: a removal then sees every
   * committed reference, and an upload that waited sees the bytes gone and writes them again.
   */
  async lockBlob(tx: Orm, sha256: string): Promise<void> {
    await tx.execute(sql`select pg_advisory_xact_lock(hashtextextended(${`rampart.blob:${sha256}`}, 0))`);
  }

  async isBlobReferenced(tx: Orm, sha256: string): Promise<boolean> {
    return (await tx.select({ id: documents.id }).from(documents).where(eq(documents.sha256, sha256)).limit(1)).length > 0;
  }

  async listInProject(
    projectId: string,
    options: { prefix?: string; q?: string; after?: string; limit: number },
  ): Promise<DocumentListing[]> {
    const conditions = [options.q ? pathContains(projectId, options.q) : eq(documents.projectId, projectId)];
    if (options.prefix) conditions.push(sql`${documents.path} like ${`${likeLiteral(options.prefix)}%`}`);
    if (options.after !== undefined) conditions.push(sql`${documents.path} > ${options.after}`);
    return this.#db.orm
      .select(listingColumns)
      .from(documents)
      .where(and(...conditions))
      .orderBy(documents.path)
      .limit(options.limit);
  }

  /**
   * Substring search across the owner's projects: newest project first, path order inside
   * each. Finding every match to sort them all by path costs a heap read per match, which
   * for a common term is most of a project; in project order the search stops as soon as
   * `limit` rows are found. Projects go in growing batches (one statement each), so a
   * common term is answered from the first project and a rare one takes a few statements.
   */
  async searchForOwner(ownerId: string, q: string, limit: number): Promise<DocumentListing[]> {
    const owned = await this.#db.orm
      .select({ id: projects.id })
      .from(projects)
      .where(eq(projects.ownerId, ownerId))
      .orderBy(desc(projects.createdAt), projects.id);
    const found: DocumentListing[] = [];
    for (let start = 0, size = 1; start < owned.length && found.length < limit; start += size, size *= SEARCH_BATCH_GROWTH) {
      const batch = owned.slice(start, start + size).map((project) => project.id);
      const batchOrder = sql`array_position(array[${sql.join(
        batch.map((id) => sql`${id}::uuid`),
        sql`, `,
      )}], ${documents.projectId})`;
      found.push(
        ...(await this.#db.orm
          .select(listingColumns)
          .from(documents)
          .where(or(...batch.map((id) => pathContains(id, q))))
          .orderBy(batchOrder, documents.path)
          .limit(limit - found.length)),
      );
    }
    return found;
  }

  async referencedBlobs(tx: Orm, shas: string[]): Promise<Set<string>> {
    if (shas.length === 0) return new Set();
    const rows = await tx.selectDistinct({ sha256: documents.sha256 }).from(documents).where(inArray(documents.sha256, shas));
    return new Set(rows.map((row) => row.sha256));
  }
}
