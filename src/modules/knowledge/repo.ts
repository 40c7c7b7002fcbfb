// The knowledge module's SQL, kept in one place: entries, replacing an entry's chunks and
// vectors in one transaction, the per-model vector index, and the rankings: full-text,
// vector, and hybrid (the two fused in one statement), each with its snippets if asked.
import { createHash } from 'node:crypto';
import type { Database, Transaction } from '../../platform/db/database.ts';

export type EntryState = 'pending' | 'ready' | 'failed';

export interface EntryRow {
  id: string;
  ownerId: string;
  title: string;
  content: string;
  tags: string[];
  sourceUrl: string | null;
  state: EntryState;
  failureReason: string | null;
  model: string | null;
  chunkCount: number;
  createdAt: Date;
  updatedAt: Date;
}

export interface NewChunk {
  position: number;
  heading: string;
  text: string;
  /** Code identifiers of the text, split into words, for the tsvector. */
  identifierWords: string;
}

export interface RankedChunkRow {
  chunkId: string;
  entryId: string;
  title: string;
  position: number;
  text: string;
  /** ts_rank (text), cosine similarity (vector) or the fused score (hybrid). */
  score: number;
  /** ts_headline of the chunk, matches between \uE000 and \uE001 (when asked for). */
  snippet?: string;
}

/** A hybrid hit: the fused score, and each side's rank and score (null: that side did not find it). */
export interface FusedChunkRow extends RankedChunkRow {
  vectorRank: number | null;
  vectorScore: number | null;
  textRank: number | null;
  textScore: number | null;
}

type Queryable = Pick<Transaction, 'query'>;

const ENTRY_COLUMNS = `id, owner_id as "ownerId", title, content, tags, source_url as "sourceUrl", state,
  failure_reason as "failureReason", model, chunk_count as "chunkCount", created_at as "createdAt", updated_at as "updatedAt"`;

const RANKED_COLUMNS = `c.id as "chunkId", c.entry_id as "entryId", e.title, c.position, c.text`;

// The constant of reciprocal rank fusion (Cormack et al. 2009): 1/(60 + rank) per list.
export const RRF_K = 60;

/** The snippet of `text` for the tsquery `q`: ts_headline fragments, the matches marked by \uE000…\uE001. */
function headlineSql(text: string, q: string): string {
  return `ts_headline('english', ${text}, ${q},
    'StartSel=${'\uE000'}, StopSel=${'\uE001'}, MaxWords=35, MinWords=12, MaxFragments=2, FragmentDelimiter=" … "')`;
}

/** Cosine distance to the parameter `param` in the form the model's HNSW expression index serves. */
function distanceSql(dimensions: number, param: string): string {
  return `v.embedding::vector(${dimensions}) <=> ${param}::vector(${dimensions})`;
}

/**
 * hnsw.ef_search as last set on a PGlite database's session. PGlite is one connection, so a
 * session setting holds until changed: the vector query then needs no transaction of its
 * own (BEGIN, SET, COMMIT are three more round trips per search).
 */
const pgliteEfSearch = new WeakMap<Database, number>();

// The tsvector of a chunk: the entry's title weighs more than its text, and code identifiers
// count as their words too, so "retry count" finds max_retry_count.
export function chunkTsvSql(title: string, heading: string, text: string, words: string): string {
  return `setweight(to_tsvector('english', ${title}), 'A') || setweight(to_tsvector('english', ${heading} || ' ' || ${text} || ' ' || ${words}), 'B')`;
}
const CHUNK_TSV = chunkTsvSql('$3', 'u.heading', 'u.text', 'u.words');

/**
 * How each model's HNSW graph is built. pgvector's defaults (m=16, ef_construction=64) left
 * recall@10 at 0.85-0.91 on the bench corpus whatever ef_search; a wider construction search
 * links the topic clusters better: 0.97-0.98 at ef_search 200 and 0.99 at 400, for about twice
 * the build time and about the same query time (npm run bench knowledge; the sweep is in the
 * README). Migration 0012 writes the same two numbers.
 */
export const HNSW_BUILD = { m: 16, efConstruction: 400 } as const;
const HNSW_WITH = `with (m = ${HNSW_BUILD.m}, ef_construction = ${HNSW_BUILD.efConstruction})`;

/** A model id is written into DDL (the index predicate), so it is held to a plain alphabet. */
const MODEL_ID = /^[A-Za-z0-9][A-Za-z0-9._:@/+-]{0,199}$/;

/** A checked model id as an SQL literal: a partial index is only used when the predicate is a constant. */
function modelLiteral(model: string): string {
  if (!MODEL_ID.test(model)) throw new Error(`model id ${JSON.stringify(model)} is not usable in SQL`);
  return `'${model}'`;
}

export function vectorLiteral(vector: Float32Array): string {
  return `[${Array.prototype.join.call(vector, ',')}]`;
}

export class KnowledgeRepo {
  readonly #db: Database;
  readonly #indexedModels = new Set<string>();

  constructor(db: Database) {
    this.#db = db;
  }

  async insertEntry(
    ownerId: string,
    entry: { title: string; content: string; tags: string[]; sourceUrl: string | null },
    tx: Transaction,
  ): Promise<EntryRow> {
    const [row] = await tx.query<EntryRow>(
      `insert into knowledge_entries (owner_id, title, content, tags, source_url) values ($1, $2, $3, $4::jsonb, $5) returning ${ENTRY_COLUMNS}`,
      [ownerId, entry.title, entry.content, JSON.stringify(entry.tags), entry.sourceUrl],
    );
    if (!row) throw new Error('insert into knowledge_entries returned no row');
    return row;
  }

  async findEntry(id: string): Promise<EntryRow | undefined> {
    const [row] = await this.#db.query<EntryRow>(`select ${ENTRY_COLUMNS} from knowledge_entries where id = $1`, [id]);
    return row;
  }

  /** The owner's entries, newest first; `after` is the (created_at text, id) of the last row seen. */
  listForOwner(ownerId: string, limit: number, after?: [string, string]): Promise<(EntryRow & { position: string })[]> {
    return this.#db.query(
      `select ${ENTRY_COLUMNS}, created_at::text as position from knowledge_entries
        where owner_id = $1 and ($2::timestamptz is null or (created_at, id) < ($2::timestamptz, $3::uuid))
        order by created_at desc, id desc limit $4`,
      [ownerId, after?.[0] ?? null, after?.[1] ?? null, limit],
    );
  }

  async deleteEntry(id: string): Promise<boolean> {
    const rows = await this.#db.query('delete from knowledge_entries where id = $1 returning id', [id]);
    return rows.length > 0;
  }

  /**
   * Replaces the entry's chunks (and so their vectors) and sets its state, in one
   * transaction: a retried job writes the same result again. `vectors` is parallel to `chunks`.
   */
  async storeChunks(
    entry: EntryRow,
    chunks: NewChunk[],
    outcome: { state: EntryState; model: string | null; vectors?: Float32Array[]; failureReason?: string },
  ): Promise<boolean> {
    return this.#db.transaction(async (tx) => {
      const [current] = await tx.query<{ id: string }>('select id from knowledge_entries where id = $1 for update', [entry.id]);
      if (!current) return false; // deleted meanwhile: nothing to store
      await tx.query('delete from knowledge_chunks where entry_id = $1', [entry.id]);
      const inserted = await tx.query<{ id: string; position: number }>(
        `insert into knowledge_chunks (entry_id, owner_id, position, heading, text, tsv)
         select $1, $2, u.position, u.heading, u.text, ${CHUNK_TSV}
           from unnest($4::int[], $5::text[], $6::text[], $7::text[]) as u(position, heading, text, words)
         returning id, position`,
        [
          entry.id,
          entry.ownerId,
          entry.title,
          chunks.map((chunk) => chunk.position),
          chunks.map((chunk) => chunk.heading),
          chunks.map((chunk) => chunk.text),
          chunks.map((chunk) => chunk.identifierWords),
        ],
      );
      if (outcome.vectors && outcome.model) {
        const idByPosition = new Map(inserted.map((row) => [row.position, row.id]));
        await tx.query(
          `insert into knowledge_chunk_vectors (chunk_id, model, owner_id, embedding)
           select u.chunk_id, $2, $3, u.embedding::vector from unnest($1::uuid[], $4::text[]) as u(chunk_id, embedding)`,
          [chunks.map((chunk) => idByPosition.get(chunk.position)), outcome.model, entry.ownerId, outcome.vectors.map(vectorLiteral)],
        );
      }
      await tx.query(
        `update knowledge_entries set state = $2, model = $3, chunk_count = $4, failure_reason = $5, updated_at = now() where id = $1`,
        [entry.id, outcome.state, outcome.model, chunks.length, outcome.failureReason ?? null],
      );
      return true;
    });
  }

  async markFailed(id: string, reason: string): Promise<void> {
    await this.#db.query(`update knowledge_entries set state = 'failed', failure_reason = $2, updated_at = now() where id = $1`, [
      id,
      reason,
    ]);
  }

  /**
   * Entries to (re-)embed: pending ones no job has touched for `staleMs` (their retries ran
   * out while the provider was down), and ready ones whose vectors are another model's.
   */
  async entriesToEmbed(model: string | null, staleMs: number, limit: number): Promise<string[]> {
    const rows = await this.#db.query<{ id: string }>(
      `select id from knowledge_entries
        where (state = 'pending' and updated_at < now() - make_interval(secs => $2::float8 / 1000))
           or ($1::text is not null and state = 'ready' and model is distinct from $1::text)
        order by updated_at limit $3`,
      [model, staleMs, limit],
    );
    return rows.map((row) => row.id);
  }

  /** Marks entries as just enqueued, so the sweep leaves them to their job for a while. */
  async touch(ids: string[]): Promise<void> {
    await this.#db.query('update knowledge_entries set updated_at = now() where id = any($1::uuid[])', [ids]);
  }

  /** The HNSW index of one model's vectors (expression index on its dimension, partial on the model). */
  async ensureVectorIndex(model: string, dimensions: number): Promise<void> {
    const key = `${model}/${dimensions}`;
    if (this.#indexedModels.has(key)) return;
    if (!Number.isInteger(dimensions) || dimensions < 1 || dimensions > 16_000)
      throw new Error(`${dimensions} dimensions cannot be indexed`);
    const name = `knowledge_vectors_${createHash('sha256').update(key).digest('hex').slice(0, 16)}`;
    // Two processes may race to create it; the lock makes the second see the first's index.
    await this.#db.transaction(async (tx) => {
      await tx.query('select pg_advisory_xact_lock(hashtext($1))', [name]);
      await tx.query(
        `create index if not exists ${name} on knowledge_chunk_vectors
           using hnsw ((embedding::vector(${dimensions})) vector_cosine_ops) ${HNSW_WITH} where model = ${modelLiteral(model)}`,
      );
    });
    this.#indexedModels.add(key);
  }

  /**
   * Full-text ranking of the owner's chunks (websearch syntax: quotes, OR, -word). Every match
   * is ranked, so the cost grows with the matches: ts_rank, not ts_rank_cd, as cover density
   * cost 2.2x as much per match on the bench corpus (median 1,267 matches, p95 9,000).
   */
  textRanking(ownerId: string, query: string, limit: number, snippets = false): Promise<RankedChunkRow[]> {
    return this.#db.query(
      `select r."chunkId", r."entryId", r.title, r.position, r.text, r.score${snippets ? `, ${headlineSql('r.text', 'r.q')} as snippet` : ''} from (
         select ${RANKED_COLUMNS}, ts_rank(c.tsv, q) as score, q
           from websearch_to_tsquery('english', $2) q, knowledge_chunks c join knowledge_entries e on e.id = c.entry_id
          where c.owner_id = $1 and c.tsv @@ q
          order by score desc, c.id limit $3) r
        order by r.score desc, r."chunkId"`,
      [ownerId, query, limit],
    );
  }

  /**
   * Nearest chunks by cosine distance among the owner's vectors of `model`, through that
   * model's HNSW index; iterative scans keep k answers when the owner filter drops candidates.
   */
  vectorRanking(
    ownerId: string,
    model: string,
    vector: Float32Array,
    limit: number,
    efSearch: number,
    snippetsFor?: string,
  ): Promise<RankedChunkRow[]> {
    const distance = distanceSql(vector.length, '$2');
    const snippet = snippetsFor === undefined ? '' : `, ${headlineSql('r.text', "websearch_to_tsquery('english', $4)")} as snippet`;
    return this.#withEfSearch(efSearch, (db) =>
      db.query<RankedChunkRow>(
        `select r.*${snippet} from (
           select ${RANKED_COLUMNS}, 1 - (${distance}) as score
             from knowledge_chunk_vectors v join knowledge_chunks c on c.id = v.chunk_id join knowledge_entries e on e.id = c.entry_id
            where v.model = ${modelLiteral(model)} and v.owner_id = $1
            order by ${distance} limit $3) r
         order by r.score desc`,
        [ownerId, vectorLiteral(vector), limit, ...(snippetsFor === undefined ? [] : [snippetsFor])],
      ),
    );
  }

  /**
   * Hybrid ranking in one statement: the vector top-`candidates` and the full-text
   * top-`candidates`, fused by reciprocal rank (1/(60 + rank) from each list; ties keep the
   * vector order, then the text order), the best `limit`, with snippets if asked: one round
   * trip instead of three (npm run bench knowledge).
   */
  hybridRanking(
    ownerId: string,
    model: string,
    query: string,
    vector: Float32Array,
    options: { candidates: number; limit: number; efSearch: number; snippets: boolean },
  ): Promise<FusedChunkRow[]> {
    const distance = distanceSql(vector.length, '$3');
    return this.#withEfSearch(options.efSearch, (db) =>
      db.query<FusedChunkRow>(
        `with q as materialized (select websearch_to_tsquery('english', $2) as q),
         vector_side as (
           select chunk_id, (row_number() over (order by distance))::int as rank, 1 - distance as score
             from (select v.chunk_id, ${distance} as distance
                     from knowledge_chunk_vectors v
                    where v.model = ${modelLiteral(model)} and v.owner_id = $1
                    order by ${distance} limit $4) nearest),
         text_side as (
           select chunk_id, (row_number() over (order by score desc, chunk_id))::int as rank, score
             from (select c.id as chunk_id, ts_rank(c.tsv, q.q) as score
                     from q, knowledge_chunks c
                    where c.owner_id = $1 and c.tsv @@ q.q
                    order by score desc, c.id limit $4) matched),
         fused as (
           select coalesce(v.chunk_id, t.chunk_id) as chunk_id, v.rank as vector_rank, v.score as vector_score,
                  t.rank as text_rank, t.score as text_score,
                  coalesce(1::float8 / (${RRF_K} + v.rank), 0) + coalesce(1::float8 / (${RRF_K} + t.rank), 0) as score
             from vector_side v full join text_side t on t.chunk_id = v.chunk_id
            order by score desc, v.rank nulls last, t.rank limit $5)
         select ${RANKED_COLUMNS}, f.score, f.vector_rank as "vectorRank", f.vector_score as "vectorScore",
                f.text_rank as "textRank", f.text_score as "textScore"${options.snippets ? `, ${headlineSql('c.text', 'q.q')} as snippet` : ''}
           from fused f join knowledge_chunks c on c.id = f.chunk_id join knowledge_entries e on e.id = c.entry_id, q
          order by f.score desc, f.vector_rank nulls last, f.text_rank`,
        [ownerId, query, vectorLiteral(vector), options.candidates, options.limit],
      ),
    );
  }

  /** Runs a vector query with hnsw.ef_search (and strict-order iterative scans) set. */
  async #withEfSearch<T>(efSearch: number, run: (db: Queryable) => Promise<T>): Promise<T> {
    const settings = `select set_config('hnsw.ef_search', $1, $2), set_config('hnsw.iterative_scan', 'strict_order', $2)`;
    if (this.#db.kind === 'pglite') {
      if (pgliteEfSearch.get(this.#db) !== efSearch) {
        await this.#db.query(settings, [String(efSearch), false]);
        pgliteEfSearch.set(this.#db, efSearch);
      }
      return run(this.#db);
    }
    // A pool's sessions are shared: the setting is local to this transaction.
    return this.#db.transaction(async (tx) => {
      await tx.query(settings, [String(efSearch), true]);
      return run(tx);
    });
  }
}
