// Tables of the polls module: polls, their per-option counts, applied votes, and (embedded
// shape) the vote log the consumer drains with its dead letters.
import { sql } from 'drizzle-orm';
import {
  bigint,
  bigserial,
  check,
  index,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from 'drizzle-orm/pg-core';
import { users } from '../auth/schema.ts';

export const polls = pgTable(
  'polls',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    ownerId: uuid('owner_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    question: text('question').notNull(),
    options: jsonb('options').$type<string[]>().notNull(),
    /** Votes accepted at or after this instant (the vote log's clock) are rejected. */
    closesAt: timestamp('closes_at', { withTimezone: true }),
    /** Set by close, from the vote log's clock: votes the log accepted after it are rejected. */
    closedAt: timestamp('closed_at', { withTimezone: true }),
    /** Votes that reached the consumer after the poll closed: counted here, never applied. */
    rejectedVotes: integer('rejected_votes').notNull().default(0),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (table) => [index('polls_owner_created_idx').on(table.ownerId, table.createdAt.desc(), table.id.desc())],
);

export const pollOptionCounts = pgTable(
  'poll_option_counts',
  {
    pollId: uuid('poll_id')
      .notNull()
      .references(() => polls.id, { onDelete: 'cascade' }),
    option: integer('option').notNull(),
    votes: integer('votes').notNull().default(0),
  },
  (table) => [primaryKey({ columns: [table.pollId, table.option] })],
);

export const pollVotes = pgTable(
  'poll_votes',
  {
    voteId: uuid('vote_id').primaryKey(),
    pollId: uuid('poll_id')
      .notNull()
      .references(() => polls.id, { onDelete: 'cascade' }),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    option: integer('option').notNull(),
    status: text('status', { enum: ['applied', 'rejected'] }).notNull(),
    requestId: text('request_id').notNull(),
    acceptedAt: timestamp('accepted_at', { withTimezone: true }).notNull(),
    appliedAt: timestamp('applied_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (table) => [
    check('poll_votes_status_check', sql`${table.status} in ('applied', 'rejected')`),
    // One vote per account per poll, enforced again here: a redelivered entry inserts nothing.
    uniqueIndex('poll_votes_poll_user_key').on(table.pollId, table.userId),
  ],
);

/** The embedded shape's vote log: the same consumer drains it as drains the Redis Stream. */
export const pollVoteLog = pgTable(
  'poll_vote_log',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    /** Null only for an entry the API did not write (a malformed one). */
    pollId: uuid('poll_id'),
    userId: uuid('user_id'),
    entry: jsonb('entry').notNull(),
    consumer: text('consumer'),
    deliveredAt: timestamp('delivered_at', { withTimezone: true }),
    deliveries: integer('deliveries').notNull().default(0),
  },
  (table) => [
    // The dedupe of the embedded shape while a vote waits in the log (poll_votes holds it after).
    uniqueIndex('poll_vote_log_poll_user_key').on(table.pollId, table.userId),
    index('poll_vote_log_consumer_idx').on(table.consumer, table.id),
  ],
);

export const pollVoteDeadLetters = pgTable('poll_vote_dead_letters', {
  id: bigserial('id', { mode: 'number' }).primaryKey(),
  logId: bigint('log_id', { mode: 'number' }).notNull(),
  entry: jsonb('entry').notNull(),
  reason: text('reason').notNull(),
  deliveries: integer('deliveries').notNull(),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
});
