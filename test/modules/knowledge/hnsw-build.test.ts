// How each model's HNSW index is built: with repo.ts's construction settings (HNSW_BUILD), not
// pgvector's defaults, and migration 0012 rebuilds an index an older version built with the
// defaults, under the same name and predicate. Embedded shape: it has pgvector.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config.ts';
import { HNSW_BUILD, KnowledgeRepo } from '../../../src/modules/knowledge/repo.ts';
import { createLogger } from '../../../src/platform/observability/logger.ts';
import type { Platform } from '../../../src/platform/platform.ts';
import { startPlatform } from '../../../src/platform/platform.ts';

const MIGRATION = readFileSync(new URL('../../../migrations/0012_knowledge_hnsw_build.sql', import.meta.url), 'utf8');
const BUILT_AS_CONFIGURED = [`m=${HNSW_BUILD.m}`, `ef_construction=${HNSW_BUILD.efConstruction}`];

describe('HNSW index construction (embedded shape)', () => {
  let platform: Platform;

  /** The vector table's HNSW indexes: name, storage options, and definition. */
  async function hnswIndexes() {
    return platform.db.query<{ oid: number; name: string; options: string[] | null; definition: string }>(
      `select c.oid::int as oid, c.relname as name, c.reloptions as options, pg_get_indexdef(c.oid) as definition
         from pg_index i join pg_class c on c.oid = i.indexrelid join pg_am am on am.oid = c.relam
        where i.indrelid = 'knowledge_chunk_vectors'::regclass and am.amname = 'hnsw' order by c.relname`,
    );
  }

  beforeAll(async () => {
    platform = await startPlatform(loadConfig({ NODE_ENV: 'test', LOG_LEVEL: 'silent' }), createLogger('silent'), { inMemory: true });
  });
  afterAll(async () => {
    await platform?.stop();
  });

  it('builds a model index with the configured m and ef_construction', async () => {
    await new KnowledgeRepo(platform.db).ensureVectorIndex('local:built-now', 8);
    const [index] = (await hnswIndexes()).filter((row) => row.definition.includes("'local:built-now'"));
    expect(index?.options).toEqual(BUILT_AS_CONFIGURED);
  });

  it('migration 0012 rebuilds an index built with the defaults, same name and predicate, and leaves built ones alone', async () => {
    await platform.db.exec(
      `create index knowledge_vectors_old_default on knowledge_chunk_vectors
         using hnsw ((embedding::vector(4)) vector_cosine_ops) where model = 'api:old'`,
    );
    // Not one this version makes, but an index with no predicate is rebuilt with the options too.
    await platform.db.exec(
      'create index knowledge_vectors_unpartial on knowledge_chunk_vectors using hnsw ((embedding::vector(3)) vector_cosine_ops)',
    );
    const before = await hnswIndexes();
    expect(before.find((row) => row.name === 'knowledge_vectors_old_default')?.options).toBeNull();

    await platform.db.exec(MIGRATION);
    const after = await hnswIndexes();
    expect(after.map((row) => row.name)).toEqual(before.map((row) => row.name));
    const rebuilt = after.find((row) => row.name === 'knowledge_vectors_old_default');
    expect(rebuilt?.options).toEqual(BUILT_AS_CONFIGURED);
    expect(rebuilt?.definition).toMatch(/vector\(4\).*WHERE \(model = 'api:old'::text\)/);
    expect(rebuilt?.oid).not.toBe(before.find((row) => row.name === 'knowledge_vectors_old_default')?.oid);
    expect(after.find((row) => row.name === 'knowledge_vectors_unpartial')?.options).toEqual(BUILT_AS_CONFIGURED);
    // The index built as configured is the same object (its oid unchanged: not dropped and rebuilt).
    const untouched = (rows: typeof before) => rows.find((row) => row.definition.includes("'local:built-now'"));
    expect(untouched(after)).toEqual(untouched(before));

    // A second run finds nothing left to rebuild.
    await platform.db.exec(MIGRATION);
    expect(await hnswIndexes()).toEqual(after);
  });
});
