// The monitoring API's wire schemas (TypeBox) and the toX() mappings from its rows to
// snake_case JSON: alerts, alert history, rules with their last evaluation, silences, and
// the metrics overview.
import { type Static, Type } from '@sinclair/typebox';
import { formatDuration } from './durations.ts';
import type { HistoryRow, RuleStatusRow, SilenceRow, StateRow } from './repo.ts';
import type { AlertRule } from './rules.ts';

const LabelsSchema = Type.Record(Type.String(), Type.String());
const NullableTime = Type.Union([Type.String({ format: 'date-time' }), Type.Null()]);
const NullableNumber = Type.Union([Type.Number(), Type.Null()]);

export const AlertSchema = Type.Object({
  rule: Type.String(),
  state: Type.String(),
  labels: LabelsSchema,
  annotations: LabelsSchema,
  value: NullableNumber,
  active_at: Type.String({ format: 'date-time' }),
  fired_at: NullableTime,
});

export const AlertHistorySchema = Type.Object({
  id: Type.String(),
  rule: Type.String(),
  state: Type.String({ description: 'pending, firing, resolved, or inactive (a pending alert that went away)' }),
  labels: LabelsSchema,
  annotations: LabelsSchema,
  value: NullableNumber,
  active_at: Type.String({ format: 'date-time' }),
  at: Type.String({ format: 'date-time' }),
});

export const AlertRuleSchema = Type.Object({
  name: Type.String(),
  group: Type.String(),
  query: Type.String(),
  duration: Type.String({ description: 'the rule\'s "for"' }),
  keep_firing_for: Type.String(),
  labels: LabelsSchema,
  annotations: LabelsSchema,
  source: Type.String(),
  state: Type.String({ description: 'inactive, pending or firing, at the last evaluation' }),
  last_evaluation: NullableTime,
  evaluation_ms: NullableNumber,
  last_error: Type.Union([Type.String(), Type.Null()]),
});

export const MatcherSchema = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 200, pattern: '^[a-zA-Z_][a-zA-Z0-9_]*$' }),
    op: Type.Union([Type.Literal('='), Type.Literal('!='), Type.Literal('=~'), Type.Literal('!~')]),
    value: Type.String({ maxLength: 1000 }),
  },
  { additionalProperties: false },
);

export const CreateSilenceBody = Type.Object(
  {
    matchers: Type.Array(MatcherSchema, { minItems: 1, maxItems: 20 }),
    ends_at: Type.String({ format: 'date-time' }),
    comment: Type.String({ minLength: 1, maxLength: 1000 }),
  },
  { additionalProperties: false },
);

export const SilenceSchema = Type.Object({
  id: Type.String(),
  matchers: Type.Array(MatcherSchema),
  comment: Type.String(),
  created_by: Type.Union([Type.String(), Type.Null()]),
  starts_at: Type.String({ format: 'date-time' }),
  ends_at: Type.String({ format: 'date-time' }),
});

const Nullable = (schema: ReturnType<typeof Type.Number>) => Type.Union([schema, Type.Null()]);

/** GET /admin/metrics/overview: the cluster's last hour, oldest point first. */
export const OverviewSchema = Type.Object({
  step_seconds: Type.Number(),
  window_seconds: Type.Number(),
  points: Type.Array(
    Type.Object({
      at: Type.String({ format: 'date-time', description: 'End of the step' }),
      request_rate: Type.Number({ description: 'Requests per second' }),
      error_ratio: Nullable(Type.Number({ description: '5xx answers / all answers; null with no requests' })),
      p95_ms: Nullable(Type.Number({ description: '95th percentile duration from the histogram; null with no requests' })),
    }),
  ),
});

export type CreateSilence = Static<typeof CreateSilenceBody>;

const finite = (value: number | null) => (value !== null && Number.isFinite(value) ? value : null);

export function toAlert(row: StateRow): Static<typeof AlertSchema> {
  return {
    rule: row.rule,
    state: row.state,
    labels: row.labels,
    annotations: row.annotations,
    value: finite(row.value),
    active_at: row.activeAt.toISOString(),
    fired_at: row.firedAt?.toISOString() ?? null,
  };
}

export function toAlertHistory(row: HistoryRow): Static<typeof AlertHistorySchema> {
  return {
    id: String(row.id),
    rule: row.rule,
    state: row.state,
    labels: row.labels,
    annotations: row.annotations,
    value: finite(row.value),
    active_at: row.activeAt.toISOString(),
    at: row.at.toISOString(),
  };
}

export function toAlertRule(rule: AlertRule, status: RuleStatusRow | undefined): Static<typeof AlertRuleSchema> {
  return {
    name: rule.name,
    group: rule.group,
    query: rule.query,
    duration: formatDuration(rule.forMs),
    keep_firing_for: formatDuration(rule.keepFiringForMs),
    labels: rule.labels,
    annotations: rule.annotations,
    source: rule.source,
    state: status?.state ?? 'inactive',
    last_evaluation: status?.evaluatedAt.toISOString() ?? null,
    evaluation_ms: status?.durationMs ?? null,
    last_error: status?.error ?? null,
  };
}

export function toSilence(row: SilenceRow): Static<typeof SilenceSchema> {
  return {
    id: row.id,
    matchers: row.matchers,
    comment: row.comment,
    created_by: row.createdBy,
    starts_at: row.startsAt.toISOString(),
    ends_at: row.endsAt.toISOString(),
  };
}
