// The alert evaluator, a module loop: every interval each running copy records the cluster's
// metric snapshot (so any copy can take over with history in hand), and the one holding the
// Postgres lease evaluates every rule, stores transitions and states in one transaction, then
// notifies. A new leader restores the states its predecessor stored, so nothing fires twice.
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { Transaction } from '../../platform/db/database.ts';
import type { Loop } from '../../platform/module.ts';
import type { MetricSample } from '../../platform/observability/metric-snapshots.ts';
import type { Alert, AlertingRule, Transition } from './alerting.ts';
import { longestRange } from './evaluate.ts';
import type { MonitoringRepo } from './repo.ts';
import { SeriesStore } from './series-store.ts';

export interface EvaluatorOptions {
  rules: AlertingRule[];
  repo: MonitoringRepo;
  /** Every live process's series now. */
  snapshot(): Promise<MetricSample[]>;
  /** Inside the transaction that stores an evaluation: enqueue its durable notifications. */
  enqueue?(tx: Transaction, transitions: Transition[], alerts: Alert[], now: number): Promise<unknown>;
  /** Every alert after an evaluation, after it is stored (an Alertmanager wants them all, again and again). */
  sendAll?(alerts: Alert[], now: number): Promise<void>;
  /** Transitions to firing or resolved, after they are stored. */
  notify(transitions: Transition[]): Promise<void>;
  /** How many alerts are pending and firing (the rampart_alerts gauge). */
  countAlerts(counts: { pending: number; firing: number }): void;
  intervalMs: number;
  logger: Logger;
  now?: () => number;
}

export class AlertEvaluator implements Loop {
  readonly name = 'alert-evaluator';
  readonly holder = randomUUID();
  readonly #options: EvaluatorOptions;
  readonly #store: SeriesStore;
  readonly #now: () => number;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> = Promise.resolve();
  #leading = false;
  #lastRecorded = Number.NEGATIVE_INFINITY;
  #stopped = true;

  constructor(options: EvaluatorOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
    this.#store = new SeriesStore(Math.max(0, ...options.rules.map((rule) => longestRange(rule.rule.expr))) + options.intervalMs);
  }

  get leading(): boolean {
    return this.#leading;
  }

  async start(): Promise<void> {
    this.#stopped = false;
    this.#schedule(0);
  }

  // Ticks four times an interval: the leader renews a lease of one interval, so a dead
  // leader's lease runs out within an interval and a follower notices within a quarter more.
  #schedule(delayMs: number): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => {
      this.#running = this.tick()
        .catch((error: unknown) => this.#options.logger.error({ err: error }, 'alert evaluation failed; retrying next tick'))
        .finally(() => this.#schedule(this.#options.intervalMs / 4));
    }, delayMs);
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    await this.#running;
    if (this.#leading) {
      this.#leading = false;
      await this.#options.repo.release(this.holder);
    }
  }

  /** One step: take or keep the lease; on an interval boundary record, and evaluate if leading. */
  async tick(): Promise<void> {
    const { repo, rules, intervalMs, logger } = this.#options;
    const leading = await repo.tryLead(this.holder, intervalMs);
    if (leading && !this.#leading) {
      const states = await repo.loadStates();
      const alerts = states.map((row) => ({
        rule: row.rule,
        labels: row.labels,
        annotations: row.annotations,
        state: row.state,
        value: row.value ?? Number.NaN,
        activeAt: row.activeAt.getTime(),
        firedAt: row.firedAt?.getTime(),
        resolvedAt: row.resolvedAt?.getTime(),
        keepFiringSince: row.keepFiringSince?.getTime(),
      }));
      for (const rule of rules) rule.restore(alerts);
      logger.info({ holder: this.holder, restored: alerts.length }, 'alert evaluator took the lead');
    } else if (!leading && this.#leading) {
      logger.warn({ holder: this.holder }, 'alert evaluator lost the lead');
    }
    this.#leading = leading;
    const now = this.#now();
    if (now - this.#lastRecorded < intervalMs * 0.95) return;
    this.#lastRecorded = now;
    this.#store.record(now, await this.#options.snapshot());
    if (leading) await this.evaluate(now);
  }

  /** Evaluates every rule at `now` over what has been recorded; stores, then notifies. */
  async evaluate(now: number): Promise<Transition[]> {
    const { repo, rules } = this.#options;
    const transitions: Transition[] = [];
    for (const rule of rules) {
      try {
        transitions.push(...rule.evaluate(this.#store, now));
      } catch (error) {
        // A rule that cannot be evaluated (e.g. a regex that throws) must not stop the others.
        if (!(error instanceof Error)) throw error;
        rule.lastEvaluation = { at: now, durationMs: 0, error: error.message };
      }
    }
    const alerts = rules.flatMap((rule) => rule.alerts());
    const statuses = rules.map((rule) => ({
      rule: rule.rule.name,
      state: rule.state,
      at: rule.lastEvaluation?.at ?? now,
      durationMs: rule.lastEvaluation?.durationMs ?? 0,
      error: rule.lastEvaluation?.error,
    }));
    const { enqueue } = this.#options;
    await repo.saveEvaluation(transitions, alerts, statuses, enqueue && ((tx) => enqueue(tx, transitions, alerts, now)));
    this.#options.countAlerts({
      pending: alerts.filter((alert) => alert.state === 'pending').length,
      firing: alerts.filter((alert) => alert.state === 'firing').length,
    });
    const notable = transitions.filter((change) => change.to === 'firing' || change.to === 'resolved');
    if (notable.length > 0) await this.#options.notify(notable);
    await this.#options
      .sendAll?.(alerts, now)
      .catch((error: unknown) => this.#options.logger.warn({ err: error }, 'alerts not sent to Alertmanager; sent again next evaluation'));
    return transitions;
  }
}
