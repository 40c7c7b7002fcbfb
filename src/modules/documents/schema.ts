// Tables of the documents module: projects and the code documents inside them.
import { sql } from 'drizzle-orm';
import { check, index, integer, jsonb, pgTable, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { users } from '../auth/schema.ts';

export const projects = pgTable(
  'projects',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    ownerId: uuid('owner_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (table) => [index('projects_owner_created_idx').on(table.ownerId, table.createdAt.desc())],
);

export const documents = pgTable(
  'documents',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    projectId: uuid('project_id')
      .notNull()
      .references(() => projects.id, { onDelete: 'cascade' }),
    /** Relative POSIX path, NFC, validated (see paths.ts). */
    path: text('path').notNull(),
    state: text('state', { enum: ['pending', 'ready', 'failed'] })
      .notNull()
      .default('pending'),
    failureReason: text('failure_reason'),
    /** Content address of the stored bytes (blob-store.ts). */
    sha256: text('sha256').notNull(),
    sizeBytes: integer('size_bytes').notNull(),
    lineCount: integer('line_count'),
    language: text('language'),
    symbols: jsonb('symbols').$type<string[]>(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (table) => [
    check('documents_state_check', sql`${table.state} in ('pending', 'ready', 'failed')`),
    uniqueIndex('documents_project_path_key').on(table.projectId, table.path),
    // Prefix listing: `path LIKE 'src/%'` walks this index in path order.
    index('documents_project_path_prefix_idx').on(table.projectId, table.path.op('text_pattern_ops')),
    // Substring filename search: per-project trigram keys (migration 0004 says why not
    // pg_trgm). fastupdate off: no pending list for queries to scan, since PGlite has no
    // autovacuum to flush it.
    index('documents_search_tokens_idx')
      .using('gin', sql`document_search_tokens(${table.projectId}, ${table.path})`)
      .with({ fastupdate: false }),
    index('documents_sha256_idx').on(table.sha256),
  ],
);
