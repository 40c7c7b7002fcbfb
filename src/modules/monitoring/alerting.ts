// One alerting rule's state over time, with Prometheus' semantics (rules/alerting.go):
// a new result is pending, firing once it has held for `for`, and when it goes away a
// pending alert is dropped while a firing one resolves, unless `keep_firing_for` holds it.
import { evaluate } from './evaluate.ts';
import type { AlertRule } from './rules.ts';
import { type Labels, labelsKey, type SeriesStore } from './series-store.ts';
import { expandTemplate } from './templates.ts';

export type AlertState = 'inactive' | 'pending' | 'firing';

export interface Alert {
  rule: string;
  labels: Labels;
  annotations: Labels;
  state: AlertState;
  value: number;
  activeAt: number;
  firedAt?: number;
  resolvedAt?: number;
  keepFiringSince?: number;
}

/** A change of one alert's state; `to: 'resolved'` is firing → inactive, `to: 'inactive'` is a pending alert that went away. */
export interface Transition {
  rule: string;
  labels: Labels;
  annotations: Labels;
  from: AlertState;
  to: 'pending' | 'firing' | 'resolved' | 'inactive';
  value: number;
  at: number;
  activeAt: number;
}

/** Prometheus keeps a resolved alert this long, so receivers hear that it resolved. */
export const RESOLVED_RETENTION_MS = 15 * 60_000;

export class AlertingRule {
  readonly rule: AlertRule;
  readonly #active = new Map<string, Alert>();
  lastEvaluation: { at: number; durationMs: number; error?: string } | undefined;

  constructor(rule: AlertRule) {
    this.rule = rule;
  }

  /** The rule's overall state: firing if any alert fires, else pending if any is pending. */
  get state(): AlertState {
    let state: AlertState = 'inactive';
    for (const alert of this.#active.values()) {
      if (alert.state === 'firing') return 'firing';
      if (alert.state === 'pending') state = 'pending';
    }
    return state;
  }

  /** Pending and firing alerts, and resolved ones still retained. */
  alerts(): Alert[] {
    return [...this.#active.values()].map((alert) => ({ ...alert }));
  }

  /** Takes over alerts a previous evaluator left (a new leader carries on without re-notifying). */
  restore(alerts: readonly Alert[]): void {
    this.#active.clear();
    for (const alert of alerts) if (alert.rule === this.rule.name) this.#active.set(labelsKey(alert.labels), { ...alert });
  }

  evaluate(store: SeriesStore, t: number): Transition[] {
    const started = performance.now();
    const transitions: Transition[] = [];
    const change = (alert: Alert, from: AlertState, to: Transition['to']) =>
      transitions.push({
        rule: this.rule.name,
        labels: alert.labels,
        annotations: alert.annotations,
        from,
        to,
        value: alert.value,
        at: t,
        activeAt: alert.activeAt,
      });
    const result = evaluate(this.rule.expr, store, t);
    const samples = result.type === 'vector' ? result.samples : [];
    const seen = new Set<string>();
    for (const sample of samples) {
      const { __name__: _name, ...labels } = sample.labels;
      for (const [name, template] of Object.entries(this.rule.labels)) labels[name] = expandTemplate(template, sample.labels, sample.value);
      labels.alertname = this.rule.name;
      const annotations: Labels = {};
      for (const [name, template] of Object.entries(this.rule.annotations)) {
        annotations[name] = expandTemplate(template, sample.labels, sample.value);
      }
      const key = labelsKey(labels);
      if (seen.has(key)) {
        this.lastEvaluation = { at: t, durationMs: performance.now() - started, error: 'the result has two samples with the same labels' };
        return [];
      }
      seen.add(key);
      const existing = this.#active.get(key);
      if (existing && existing.state !== 'inactive') {
        existing.value = sample.value;
        existing.annotations = annotations;
        continue;
      }
      this.#active.set(key, { rule: this.rule.name, labels, annotations, state: 'pending', value: sample.value, activeAt: t });
    }
    for (const [key, alert] of this.#active) {
      if (!seen.has(key)) {
        let keepFiring = false;
        if (alert.state === 'firing' && this.rule.keepFiringForMs > 0) {
          alert.keepFiringSince ??= t;
          if (t - alert.keepFiringSince < this.rule.keepFiringForMs) keepFiring = true;
        }
        if (alert.state === 'pending' || (alert.resolvedAt !== undefined && t - alert.resolvedAt > RESOLVED_RETENTION_MS)) {
          this.#active.delete(key);
        }
        if (alert.state !== 'inactive' && !keepFiring) {
          const from = alert.state;
          alert.state = 'inactive';
          alert.resolvedAt = t;
          change(alert, from, from === 'firing' ? 'resolved' : 'inactive');
        }
        if (!keepFiring) continue;
      } else {
        alert.keepFiringSince = undefined;
      }
      if (alert.state === 'pending' && alert.activeAt === t) change(alert, 'inactive', 'pending');
      if (alert.state === 'pending' && t - alert.activeAt >= this.rule.forMs) {
        alert.state = 'firing';
        alert.firedAt = t;
        change(alert, 'pending', 'firing');
      }
    }
    this.lastEvaluation = { at: t, durationMs: performance.now() - started };
    return transitions;
  }
}
