// Tables of the knowledge module: entries and their chunks (text + tsvector, always). The
// chunks' vectors live in `knowledge_chunk_vectors`, which a hand-written migration creates
// only where the `vector` extension exists, so it is not described here.
import { sql } from 'drizzle-orm';
import { check, customType, index, integer, jsonb, pgTable, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { users } from '../auth/schema.ts';

const tsvector = customType<{ data: string }>({ dataType: () => 'tsvector' });

export const knowledgeEntries = pgTable(
  'knowledge_entries',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    ownerId: uuid('owner_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    title: text('title').notNull(),
    content: text('content').notNull(),
    tags: jsonb('tags').$type<string[]>().notNull().default([]),
    sourceUrl: text('source_url'),
    /** pending: chunked and embedded by a job; ready; failed (with failure_reason). */
    state: text('state').notNull().default('pending'),
    failureReason: text('failure_reason'),
    /** The model whose vectors the chunks have (null: none yet, or text-only). */
    model: text('model'),
    chunkCount: integer('chunk_count').notNull().default(0),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (table) => [
    index('knowledge_entries_owner_created_idx').on(table.ownerId, table.createdAt.desc(), table.id.desc()),
    check('knowledge_entries_state_check', sql`${table.state} in ('pending', 'ready', 'failed')`),
  ],
);

export const knowledgeChunks = pgTable(
  'knowledge_chunks',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    entryId: uuid('entry_id')
      .notNull()
      .references(() => knowledgeEntries.id, { onDelete: 'cascade' }),
    /** Copied from the entry: search filters by owner before it joins. */
    ownerId: uuid('owner_id').notNull(),
    position: integer('position').notNull(),
    /** The heading path the chunk sits under ("Install > Linux"), embedded with it. */
    heading: text('heading').notNull().default(''),
    text: text('text').notNull(),
    /** Title (weight A) + text + identifiers split into words (weight B). */
    tsv: tsvector('tsv').notNull(),
  },
  (table) => [
    uniqueIndex('knowledge_chunks_entry_position_idx').on(table.entryId, table.position),
    // fastupdate off: no pending list for every search to scan, since PGlite has no
    // autovacuum to flush it (after loading the knowledge bench's 100,000 chunks it held 359
    // pages, and flushing it halved the median text query).
    index('knowledge_chunks_tsv_idx').using('gin', table.tsv).with({ fastupdate: false }),
    index('knowledge_chunks_owner_idx').on(table.ownerId),
  ],
);
