// SQL of the monitoring module: the leadership lease, each evaluation's transitions, alert
// states and rule status (one transaction), and the admin reads; the same SQL on Postgres
// and PGlite. Multi-row writes go as one JSON parameter through jsonb_to_recordset.
import { createHash } from 'node:crypto';
import type { Database, Transaction } from '../../platform/db/database.ts';
import type { Alert, AlertState, Transition } from './alerting.ts';
import { type Labels, labelsKey } from './series-store.ts';

export interface HistoryRow {
  id: number;
  rule: string;
  labels: Labels;
  annotations: Labels;
  state: string;
  value: number | null;
  activeAt: Date;
  at: Date;
  /** Keyset position: `at` as Postgres text (microseconds kept). */
  position: string;
}

export interface StateRow {
  rule: string;
  labels: Labels;
  annotations: Labels;
  state: AlertState;
  value: number | null;
  activeAt: Date;
  firedAt: Date | null;
  resolvedAt: Date | null;
  keepFiringSince: Date | null;
}

export interface RuleStatusRow {
  rule: string;
  state: AlertState;
  evaluatedAt: Date;
  durationMs: number;
  error: string | null;
}

export interface SilenceMatcher {
  name: string;
  op: '=' | '!=' | '=~' | '!~';
  value: string;
}

export interface SilenceRow {
  id: string;
  matchers: SilenceMatcher[];
  comment: string;
  createdBy: string | null;
  startsAt: Date;
  endsAt: Date;
}

const iso = (ms: number | undefined) => (ms === undefined ? null : new Date(ms).toISOString());
const date = (value: unknown) => (value === null || value === undefined ? null : new Date(value as string));

function toState(row: Record<string, unknown>): StateRow {
  return {
    rule: String(row.rule),
    labels: row.labels as Labels,
    annotations: row.annotations as Labels,
    state: row.state as AlertState,
    value: row.value === null ? null : Number(row.value),
    activeAt: date(row.active_at) as Date,
    firedAt: date(row.fired_at),
    resolvedAt: date(row.resolved_at),
    keepFiringSince: date(row.keep_firing_since),
  };
}

export class MonitoringRepo {
  readonly #db: Database;

  constructor(db: Database) {
    this.#db = db;
  }

  /** Takes or renews the evaluator's lease; true while `holder` leads. */
  async tryLead(holder: string, leaseMs: number): Promise<boolean> {
    const rows = await this.#db.query(
      `insert into alert_leader (id, holder, expires_at) values (1, $1, now() + $2 * interval '1 millisecond')
       on conflict (id) do update set holder = excluded.holder, expires_at = excluded.expires_at
        where alert_leader.holder = excluded.holder or alert_leader.expires_at < now()
       returning holder`,
      [holder, leaseMs],
    );
    return rows.length === 1;
  }

  /** Hands the lease back at once (a clean stop), so another process leads at its next tick. */
  async release(holder: string): Promise<void> {
    await this.#db.query(`update alert_leader set expires_at = now() - interval '1 second' where holder = $1`, [holder]);
  }

  async loadStates(): Promise<StateRow[]> {
    return (await this.#db.query<Record<string, unknown>>('select * from alert_states')).map(toState);
  }

  /** One evaluation's outcome: its transitions into history, the alerts' states, each rule's status. */
  async saveEvaluation(
    transitions: Transition[],
    alerts: Alert[],
    statuses: { rule: string; state: AlertState; at: number; durationMs: number; error?: string }[],
    alsoInTransaction?: (tx: Transaction) => Promise<unknown>,
  ): Promise<void> {
    const history = transitions.map((change) => ({
      rule: change.rule,
      labels: change.labels,
      annotations: change.annotations,
      state: change.to,
      value: Number.isFinite(change.value) ? change.value : null,
      active_at: iso(change.activeAt),
      at: iso(change.at),
    }));
    const states = alerts.map((alert) => ({
      rule: alert.rule,
      // Postgres text and jsonb cannot hold the NUL labelsKey separates labels with.
      fingerprint: createHash('sha256').update(labelsKey(alert.labels)).digest('hex'),
      labels: alert.labels,
      annotations: alert.annotations,
      state: alert.state,
      value: Number.isFinite(alert.value) ? alert.value : null,
      active_at: iso(alert.activeAt),
      fired_at: iso(alert.firedAt),
      resolved_at: iso(alert.resolvedAt),
      keep_firing_since: iso(alert.keepFiringSince),
    }));
    const status = statuses.map((each) => ({
      rule: each.rule,
      state: each.state,
      evaluated_at: iso(each.at),
      duration_ms: each.durationMs,
      error: each.error ?? null,
    }));
    await this.#db.transaction(async (tx) => {
      if (history.length > 0) {
        await tx.query(
          `insert into alert_history (rule, labels, annotations, state, value, active_at, at)
           select rule, labels, annotations, state, value, active_at, at
             from jsonb_to_recordset($1::jsonb) as x(rule text, labels jsonb, annotations jsonb, state text, value double precision, active_at timestamptz, at timestamptz)`,
          [JSON.stringify(history)],
        );
      }
      await tx.query('delete from alert_states');
      if (states.length > 0) {
        await tx.query(
          `insert into alert_states (rule, fingerprint, labels, annotations, state, value, active_at, fired_at, resolved_at, keep_firing_since)
           select * from jsonb_to_recordset($1::jsonb) as x(rule text, fingerprint text, labels jsonb, annotations jsonb, state text,
             value double precision, active_at timestamptz, fired_at timestamptz, resolved_at timestamptz, keep_firing_since timestamptz)`,
          [JSON.stringify(states)],
        );
      }
      if (status.length > 0) {
        await tx.query(
          `insert into alert_rule_status (rule, state, evaluated_at, duration_ms, error)
           select * from jsonb_to_recordset($1::jsonb) as x(rule text, state text, evaluated_at timestamptz, duration_ms double precision, error text)
           on conflict (rule) do update set state = excluded.state, evaluated_at = excluded.evaluated_at,
             duration_ms = excluded.duration_ms, error = excluded.error`,
          [JSON.stringify(status)],
        );
      }
      await alsoInTransaction?.(tx);
    });
  }

  async lastSent(tx: Transaction): Promise<Map<string, number>> {
    const rows = await tx.query<{ group_key: string; last_sent_at: string }>('select group_key, last_sent_at from alert_notifications');
    return new Map(rows.map((row) => [row.group_key, new Date(row.last_sent_at).getTime()]));
  }

  async markSent(tx: Transaction, groupKeys: string[], at: number): Promise<void> {
    if (groupKeys.length === 0) return;
    await tx.query(
      `insert into alert_notifications (group_key, last_sent_at) select key, $2::timestamptz from jsonb_array_elements_text($1::jsonb) as key
       on conflict (group_key) do update set last_sent_at = excluded.last_sent_at`,
      [JSON.stringify(groupKeys), new Date(at).toISOString()],
    );
  }

  async activeAlerts(): Promise<StateRow[]> {
    const rows = await this.#db.query<Record<string, unknown>>(
      `select * from alert_states where state in ('pending', 'firing') order by active_at desc, rule, fingerprint`,
    );
    return rows.map(toState);
  }

  async history(limit: number, before?: { at: string; id: string }): Promise<HistoryRow[]> {
    const rows = await this.#db.query<Record<string, unknown>>(
      `select id, rule, labels, annotations, state, value, active_at, at, at::text as position
         from alert_history
        where ($1::text is null or (at, id) < ($1::timestamptz, $2::bigint))
        order by at desc, id desc
        limit $3`,
      [before?.at ?? null, before?.id ?? null, limit + 1],
    );
    return rows.map((row) => ({
      id: Number(row.id),
      rule: String(row.rule),
      labels: row.labels as Labels,
      annotations: row.annotations as Labels,
      state: String(row.state),
      value: row.value === null ? null : Number(row.value),
      activeAt: date(row.active_at) as Date,
      at: date(row.at) as Date,
      position: String(row.position),
    }));
  }

  async ruleStatuses(): Promise<RuleStatusRow[]> {
    const rows = await this.#db.query<Record<string, unknown>>('select * from alert_rule_status');
    return rows.map((row) => ({
      rule: String(row.rule),
      state: row.state as AlertState,
      evaluatedAt: date(row.evaluated_at) as Date,
      durationMs: Number(row.duration_ms),
      error: row.error === null ? null : String(row.error),
    }));
  }

  async createSilence(input: { matchers: SilenceMatcher[]; comment: string; createdBy: string; endsAt: Date }): Promise<SilenceRow> {
    const [row] = await this.#db.query<Record<string, unknown>>(
      `insert into alert_silences (matchers, comment, created_by, ends_at) values ($1::jsonb, $2, $3, $4::timestamptz) returning *`,
      [JSON.stringify(input.matchers), input.comment, input.createdBy, input.endsAt.toISOString()],
    );
    return toSilence(row as Record<string, unknown>);
  }

  /** Ends a silence now; false when there is no such silence. */
  async expireSilence(id: string): Promise<boolean> {
    const rows = await this.#db.query('delete from alert_silences where id = $1 returning id', [id]);
    return rows.length === 1;
  }

  async activeSilences(tx?: Transaction): Promise<SilenceRow[]> {
    const rows = await (tx ?? this.#db).query<Record<string, unknown>>(
      'select * from alert_silences where starts_at <= now() and ends_at > now() order by ends_at',
    );
    return rows.map(toSilence);
  }
}

function toSilence(row: Record<string, unknown>): SilenceRow {
  return {
    id: String(row.id),
    matchers: row.matchers as SilenceMatcher[],
    comment: String(row.comment),
    createdBy: row.created_by === null ? null : String(row.created_by),
    startsAt: date(row.starts_at) as Date,
    endsAt: date(row.ends_at) as Date,
  };
}
