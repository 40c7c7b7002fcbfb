// Webhook notifications as Alertmanager sends them (webhook format version 4): alerts grouped
// by alertname, a group sent when one of its alerts starts firing or resolves and again every
// repeat_interval while any still fires, silenced alerts left out; the body signed with HMAC-SHA256.
import { createHash, createHmac } from 'node:crypto';
import type { Alert, Transition } from './alerting.ts';
import type { SilenceRow } from './repo.ts';
import { type Labels, labelsKey } from './series-store.ts';

/** The header that carries `sha256=<hex HMAC-SHA256 of the raw body>`. */
export const SIGNATURE_HEADER = 'x-rampart-signature';
export const WEBHOOK_JOB = 'monitoring.webhook';
/** Alertmanager writes this for "no end" (a firing alert). */
const ZERO_TIME = '0001-01-01T00:00:00Z';

export interface WebhookAlert {
  status: 'firing' | 'resolved';
  labels: Labels;
  annotations: Labels;
  startsAt: string;
  endsAt: string;
  generatorURL: string;
  fingerprint: string;
}

export interface WebhookMessage {
  version: '4';
  groupKey: string;
  truncatedAlerts: number;
  status: 'firing' | 'resolved';
  receiver: string;
  groupLabels: Labels;
  commonLabels: Labels;
  commonAnnotations: Labels;
  externalURL: string;
  alerts: WebhookAlert[];
}

/** Alertmanager's matcher semantics: regexes are anchored; a missing label is the empty string. */
export function silenceMatches(silence: Pick<SilenceRow, 'matchers'>, labels: Labels): boolean {
  return silence.matchers.every((matcher) => {
    const value = labels[matcher.name] ?? '';
    if (matcher.op === '=') return value === matcher.value;
    if (matcher.op === '!=') return value !== matcher.value;
    const matched = new RegExp(`^(?:${matcher.value})$`, 'su').test(value);
    return matcher.op === '=~' ? matched : !matched;
  });
}

export function sign(body: string, secret: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

export function fingerprint(labels: Labels): string {
  return createHash('sha256').update(labelsKey(labels)).digest('hex').slice(0, 16);
}

function common(maps: Labels[]): Labels {
  const [first, ...rest] = maps;
  if (!first) return {};
  return Object.fromEntries(Object.entries(first).filter(([name, value]) => rest.every((other) => other[name] === value)));
}

/**
 * The messages due after an evaluation at `now`: for each alertname with a transition to
 * firing or resolved, or with firing alerts last sent `repeatMs` ago or more. A message
 * carries the group's firing alerts and those that resolved in this evaluation, minus silenced ones.
 */
export function dueMessages(input: {
  alerts: Alert[];
  transitions: Transition[];
  silences: Pick<SilenceRow, 'matchers'>[];
  lastSent: ReadonlyMap<string, number>;
  now: number;
  repeatMs: number;
}): WebhookMessage[] {
  const silenced = (labels: Labels) => input.silences.some((silence) => silenceMatches(silence, labels));
  const changed = new Set(
    input.transitions
      .filter((change) => (change.to === 'firing' || change.to === 'resolved') && !silenced(change.labels))
      .map((change) => change.rule),
  );
  const groups = new Map<string, Alert[]>();
  for (const alert of input.alerts) {
    const current =
      alert.state === 'firing' || (alert.state === 'inactive' && alert.resolvedAt === input.now && alert.firedAt !== undefined);
    if (!current || silenced(alert.labels)) continue;
    groups.set(alert.rule, [...(groups.get(alert.rule) ?? []), alert]);
  }
  const messages: WebhookMessage[] = [];
  for (const [rule, alerts] of groups) {
    const groupKey = `{}:{alertname="${rule}"}`;
    const firing = alerts.some((alert) => alert.state === 'firing');
    const last = input.lastSent.get(groupKey);
    const repeatDue = firing && (last === undefined || input.now - last >= input.repeatMs);
    if (!changed.has(rule) && !repeatDue) continue;
    messages.push({
      version: '4',
      groupKey,
      truncatedAlerts: 0,
      status: firing ? 'firing' : 'resolved',
      receiver: 'rampart',
      groupLabels: { alertname: rule },
      commonLabels: common(alerts.map((alert) => alert.labels)),
      commonAnnotations: common(alerts.map((alert) => alert.annotations)),
      externalURL: '',
      alerts: alerts.map((alert) => ({
        status: alert.state === 'firing' ? 'firing' : 'resolved',
        labels: alert.labels,
        annotations: alert.annotations,
        startsAt: new Date(alert.activeAt).toISOString(),
        endsAt: alert.state === 'firing' || alert.resolvedAt === undefined ? ZERO_TIME : new Date(alert.resolvedAt).toISOString(),
        generatorURL: '',
        fingerprint: fingerprint(alert.labels),
      })),
    });
  }
  return messages;
}
