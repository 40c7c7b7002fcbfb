// Tables of the monitoring module: alert history (every transition), the evaluator's alert
// states (so a new leader carries on without notifying twice), each rule's last evaluation,
// silences, and the evaluator's leadership lease.
import { sql } from 'drizzle-orm';
import { bigserial, check, doublePrecision, index, integer, jsonb, pgTable, primaryKey, text, timestamp, uuid } from 'drizzle-orm/pg-core';

export const alertHistory = pgTable(
  'alert_history',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    rule: text('rule').notNull(),
    labels: jsonb('labels').$type<Record<string, string>>().notNull(),
    annotations: jsonb('annotations').$type<Record<string, string>>().notNull(),
    /** pending, firing, resolved, or inactive (a pending alert that went away). */
    state: text('state').notNull(),
    value: doublePrecision('value'),
    activeAt: timestamp('active_at', { withTimezone: true }).notNull(),
    at: timestamp('at', { withTimezone: true }).notNull(),
  },
  (table) => [
    check('alert_history_state_check', sql`${table.state} in ('pending', 'firing', 'resolved', 'inactive')`),
    index('alert_history_at_idx').on(table.at, table.id),
  ],
);

export const alertStates = pgTable(
  'alert_states',
  {
    rule: text('rule').notNull(),
    /** The alert's labels as one sortable key (series-store.ts labelsKey). */
    fingerprint: text('fingerprint').notNull(),
    labels: jsonb('labels').$type<Record<string, string>>().notNull(),
    annotations: jsonb('annotations').$type<Record<string, string>>().notNull(),
    state: text('state').notNull(),
    value: doublePrecision('value'),
    activeAt: timestamp('active_at', { withTimezone: true }).notNull(),
    firedAt: timestamp('fired_at', { withTimezone: true }),
    resolvedAt: timestamp('resolved_at', { withTimezone: true }),
    keepFiringSince: timestamp('keep_firing_since', { withTimezone: true }),
  },
  (table) => [primaryKey({ columns: [table.rule, table.fingerprint] })],
);

export const alertRuleStatus = pgTable('alert_rule_status', {
  rule: text('rule').primaryKey(),
  state: text('state').notNull(),
  evaluatedAt: timestamp('evaluated_at', { withTimezone: true }).notNull(),
  durationMs: doublePrecision('duration_ms').notNull(),
  error: text('error'),
});

export const alertSilences = pgTable(
  'alert_silences',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    /** [{name, op, value}] with op one of =, !=, =~, !~ (Alertmanager's matchers). */
    matchers: jsonb('matchers').$type<{ name: string; op: string; value: string }[]>().notNull(),
    comment: text('comment').notNull(),
    createdBy: uuid('created_by'),
    startsAt: timestamp('starts_at', { withTimezone: true }).notNull().defaultNow(),
    endsAt: timestamp('ends_at', { withTimezone: true }).notNull(),
  },
  (table) => [index('alert_silences_ends_at_idx').on(table.endsAt)],
);

export const alertLeader = pgTable(
  'alert_leader',
  {
    id: integer('id').primaryKey(),
    holder: text('holder').notNull(),
    expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
  },
  (table) => [check('alert_leader_single_row', sql`${table.id} = 1`)],
);

/** When each notification group (one alert rule) was last sent to the webhooks: repeat_interval survives a change of leader. */
export const alertNotifications = pgTable('alert_notifications', {
  groupKey: text('group_key').primaryKey(),
  lastSentAt: timestamp('last_sent_at', { withTimezone: true }).notNull(),
});
