// Posts alerts to an existing Alertmanager (ALERTMANAGER_URL) the way Prometheus does
// (rules/alerting.go, notifier): firing and resolved alerts to /api/v2/alerts, each again
// every resend delay, a firing one valid for four of them; a resolved one once more at once.
import type { Logger } from 'pino';
import type { Alert } from './alerting.ts';
import { labelsKey } from './series-store.ts';

/** Prometheus' default --rules.alert.resend-delay. */
export const RESEND_DELAY_MS = 60_000;
const TIMEOUT_MS = 10_000;

export interface AlertmanagerAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt: string;
  generatorURL: string;
}

export class AlertmanagerClient {
  readonly #url: string;
  readonly #logger: Logger;
  readonly #intervalMs: number;
  /** When each alert was last sent (by labels); a new leader starts afresh and Alertmanager dedupes. */
  readonly #lastSent = new Map<string, number>();

  constructor(url: string, intervalMs: number, logger: Logger) {
    this.#url = new URL('api/v2/alerts', url.endsWith('/') ? url : `${url}/`).toString();
    this.#intervalMs = intervalMs;
    this.#logger = logger;
  }

  /** The alerts due at `now` (Prometheus' needsSending), in Alertmanager's API shape. */
  due(alerts: Alert[], now: number): AlertmanagerAlert[] {
    const validFor = 4 * Math.max(RESEND_DELAY_MS, this.#intervalMs);
    const out: AlertmanagerAlert[] = [];
    for (const alert of alerts) {
      if (alert.state === 'pending' || (alert.state === 'inactive' && alert.firedAt === undefined)) continue;
      const key = labelsKey(alert.labels);
      const last = this.#lastSent.get(key);
      const resolvedSinceSent = alert.resolvedAt !== undefined && (last === undefined || alert.resolvedAt > last);
      if (!resolvedSinceSent && last !== undefined && last + RESEND_DELAY_MS > now) continue;
      this.#lastSent.set(key, now);
      out.push({
        labels: alert.labels,
        annotations: alert.annotations,
        startsAt: new Date(alert.activeAt).toISOString(),
        endsAt: new Date(alert.state === 'firing' ? now + validFor : (alert.resolvedAt ?? now)).toISOString(),
        generatorURL: '',
      });
    }
    for (const key of this.#lastSent.keys()) if (!alerts.some((alert) => labelsKey(alert.labels) === key)) this.#lastSent.delete(key);
    return out;
  }

  /** Sends what is due; a failure is logged and the alerts go again at the next resend. */
  async send(alerts: Alert[], now: number): Promise<void> {
    const batch = this.due(alerts, now);
    if (batch.length === 0) return;
    const response = await fetch(this.#url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(batch),
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
    await response.body?.cancel();
    if (!response.ok) {
      for (const alert of batch) this.#lastSent.delete(labelsKey(alert.labels));
      this.#logger.warn({ status: response.status, alerts: batch.length }, 'Alertmanager refused alerts; sent again next evaluation');
    }
  }
}
