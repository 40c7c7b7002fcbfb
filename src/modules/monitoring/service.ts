// The monitoring module's service: the admin reads (active alerts, history, rules with their
// last evaluation) and silences, and the notifications of firing and resolved alerts.

import type { Transaction } from '../../platform/db/database.ts';
import { AppError } from '../../platform/errors.ts';
import { decodeCursor, isTimestampText, keysetPage } from '../../platform/http/keyset.ts';
import type { Platform } from '../../platform/platform.ts';
import type { Alert, AlertingRule, Transition } from './alerting.ts';
import { dueMessages, silenceMatches, WEBHOOK_JOB } from './notifications.ts';
import { type HistoryRow, MonitoringRepo, type RuleStatusRow, type SilenceMatcher, type SilenceRow, type StateRow } from './repo.ts';

export const ALERTS_TOPIC = 'alerts';

export class MonitoringService {
  readonly repo: MonitoringRepo;
  readonly #platform: Platform;
  readonly #rules: AlertingRule[];

  constructor(platform: Platform, rules: AlertingRule[]) {
    this.#platform = platform;
    this.#rules = rules;
    this.repo = new MonitoringRepo(platform.db);
  }

  async alerts(query: {
    limit: number;
    cursor?: string;
  }): Promise<{ active: StateRow[]; history: HistoryRow[]; nextCursor: string | null }> {
    const [at, id] = query.cursor ? decodeCursor(query.cursor, [isTimestampText, (part) => /^\d{1,18}$/.test(part)]) : [];
    const [active, rows] = await Promise.all([this.repo.activeAlerts(), this.repo.history(query.limit, at && id ? { at, id } : undefined)]);
    const { page, nextCursor } = keysetPage(rows, query.limit, (row) => [row.position, String(row.id)]);
    return { active, history: page, nextCursor };
  }

  /** Every loaded rule, with the state and last evaluation the evaluator stored. */
  async rules(): Promise<{ rule: AlertingRule['rule']; status: RuleStatusRow | undefined }[]> {
    const statuses = new Map((await this.repo.ruleStatuses()).map((status) => [status.rule, status]));
    return this.#rules.map((rule) => ({ rule: rule.rule, status: statuses.get(rule.rule.name) }));
  }

  async createSilence(input: { matchers: SilenceMatcher[]; comment: string; endsAt: Date }, userId: string): Promise<SilenceRow> {
    if (input.endsAt.getTime() <= Date.now()) {
      throw new AppError('VALIDATION_FAILED', 'A silence must end in the future', {
        details: [{ path: 'body.ends_at', message: 'must be in the future' }],
      });
    }
    for (const [i, matcher] of input.matchers.entries()) {
      if (matcher.op !== '=~' && matcher.op !== '!~') continue;
      try {
        new RegExp(matcher.value, 'su');
      } catch (error) {
        if (!(error instanceof SyntaxError)) throw error;
        throw new AppError('VALIDATION_FAILED', 'A matcher has an invalid regular expression', {
          details: [{ path: `body.matchers.${i}.value`, message: 'is not a valid regular expression' }],
        });
      }
    }
    return this.repo.createSilence({ ...input, createdBy: userId });
  }

  async expireSilence(id: string): Promise<void> {
    if (!(await this.repo.expireSilence(id))) throw new AppError('NOT_FOUND', 'No such silence');
  }

  /**
   * Inside the evaluation's transaction: one durable delivery job per due webhook message
   * and receiver, and when each group was sent (repeat_interval outlives a change of leader).
   */
  async enqueueWebhooks(tx: Transaction, transitions: Transition[], alerts: Alert[], now: number): Promise<number> {
    const { alertWebhookUrls: urls, alertRepeatIntervalMs: repeatMs } = this.#platform.config.monitoring;
    if (urls.length === 0) return 0;
    const silences = await this.repo.activeSilences(tx);
    const lastSent = await this.repo.lastSent(tx);
    const messages = dueMessages({ alerts, transitions, silences, lastSent, now, repeatMs });
    for (const message of messages) {
      const body = JSON.stringify(message);
      for (const url of urls)
        await this.#platform.jobs.enqueue(tx, WEBHOOK_JOB, { url, body }, `alert-${message.groupLabels.alertname}-${now}`);
    }
    await this.repo.markSent(
      tx,
      messages.map((message) => message.groupKey),
      now,
    );
    return messages.length;
  }

  /**
   * Publishes firing and resolved alerts on the `alerts` topic (admins), each marked silenced
   * or not; receivers of notifications (webhooks) skip the silenced ones.
   */
  async notify(transitions: Transition[]): Promise<void> {
    const silences = await this.repo.activeSilences();
    for (const change of transitions) {
      const silenced = silences.some((silence) => silenceMatches(silence, change.labels));
      this.#platform.realtime.publish(
        ALERTS_TOPIC,
        `alert.${change.to}`,
        {
          rule: change.rule,
          state: change.to,
          labels: change.labels,
          annotations: change.annotations,
          value: Number.isFinite(change.value) ? change.value : null,
          active_at: new Date(change.activeAt).toISOString(),
          at: new Date(change.at).toISOString(),
          silenced,
        },
        `alert-${change.rule}-${change.at}`,
      );
    }
  }
}
