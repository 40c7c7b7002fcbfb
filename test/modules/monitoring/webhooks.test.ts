// Alert webhooks: Alertmanager's v4 message, grouping and repeat_interval with a fake clock;
// end to end (both shapes) against a local HTTP receiver: a signed firing POST, retried when
// the receiver answers 500, a resolved one when the errors stop, and a silence suppressing the next.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Alert, Transition } from '../../../src/modules/monitoring/alerting.ts';
import { dueMessages, fingerprint, silenceMatches } from '../../../src/modules/monitoring/notifications.ts';
import { AppError } from '../../../src/platform/errors.ts';
import { bearer, registerAndLogin } from '../../helpers/accounts.ts';
import { shapes } from '../../helpers/shapes.ts';
import { startTestApp, type TestApp } from '../../helpers/test-app.ts';
import { eventually } from '../../helpers/wait.ts';

const SECRET = 'webhook-secret-0123456789';
const M = 60_000;

const alert = (rule: string, state: Alert['state'], labels: Record<string, string>, extra: Partial<Alert> = {}): Alert => ({
  rule,
  labels: { alertname: rule, ...labels },
  annotations: { summary: `${rule} ${labels.route ?? ''}` },
  state,
  value: 1,
  activeAt: 0,
  ...extra,
});
const change = (rule: string, to: Transition['to'], labels: Record<string, string>): Transition => ({
  rule,
  labels: { alertname: rule, ...labels },
  annotations: {},
  from: 'pending',
  to,
  value: 1,
  at: 0,
  activeAt: 0,
});

describe('webhook messages', () => {
  it('groups by alertname with common labels, and sends on change or after repeat_interval', () => {
    const alerts = [
      alert('Errors', 'firing', { route: '/a', severity: 'page' }, { firedAt: 0 }),
      alert('Errors', 'inactive', { route: '/b', severity: 'page' }, { firedAt: 0, resolvedAt: 10 * M }),
      alert('Errors', 'inactive', { route: '/c', severity: 'page' }, { firedAt: 0, resolvedAt: 1 }), // resolved earlier: not in
      alert('Slow', 'pending', { route: '/a' }),
      alert('Down', 'firing', { component: 'db' }, { firedAt: 0 }),
    ];
    const base = { alerts, silences: [], now: 10 * M, repeatMs: 60 * M };
    const [errors, ...rest] = dueMessages({
      ...base,
      transitions: [change('Errors', 'resolved', { route: '/b' })],
      lastSent: new Map([['{}:{alertname="Down"}', 0]]),
    });
    expect(rest).toEqual([]); // Down was sent 10 min ago: not due yet; Slow is only pending
    expect(errors).toMatchObject({
      version: '4',
      groupKey: '{}:{alertname="Errors"}',
      status: 'firing',
      groupLabels: { alertname: 'Errors' },
      commonLabels: { alertname: 'Errors', severity: 'page' },
      truncatedAlerts: 0,
    });
    expect(errors?.alerts).toEqual([
      expect.objectContaining({
        status: 'firing',
        labels: alerts[0]?.labels,
        endsAt: '0001-01-01T00:00:00Z',
        fingerprint: fingerprint(alerts[0]?.labels ?? {}),
      }),
      expect.objectContaining({ status: 'resolved', endsAt: new Date(10 * M).toISOString(), startsAt: new Date(0).toISOString() }),
    ]);
    // An hour after the last send, a still-firing group is sent again without any change.
    const repeated = dueMessages({ ...base, now: 61 * M, transitions: [], lastSent: new Map([['{}:{alertname="Down"}', 0]]) });
    expect(repeated.map((message) => message.groupKey)).toEqual(['{}:{alertname="Errors"}', '{}:{alertname="Down"}']);
  });

  it('leaves silenced alerts out, and sends nothing for a change that is silenced', () => {
    const silences = [{ matchers: [{ name: 'route', op: '=~' as const, value: '/a|/x' }] }];
    const alerts = [alert('Errors', 'firing', { route: '/a' }, { firedAt: 0 })];
    expect(
      dueMessages({
        alerts,
        transitions: [change('Errors', 'firing', { route: '/a' })],
        silences,
        lastSent: new Map(),
        now: 0,
        repeatMs: M,
      }),
    ).toEqual([]);
    expect(silenceMatches({ matchers: [{ name: 'route', op: '!=', value: '/a' }] }, { route: '/b' })).toBe(true);
    expect(silenceMatches({ matchers: [{ name: 'route', op: '!~', value: '/.*' }] }, { route: '/b' })).toBe(false);
    expect(silenceMatches({ matchers: [{ name: 'missing', op: '=', value: '' }] }, { route: '/b' })).toBe(true);
  });
});

interface Received {
  signature: string | undefined;
  body: string;
  status: number;
}

describe.each(shapes)('alert webhooks end to end (%s shape)', (shape) => {
  let t: TestApp;
  let receiver: Server;
  let admin: Record<string, string>;
  const received: Received[] = [];
  let failNext = 1; // the first delivery gets a 500
  beforeAll(async () => {
    receiver = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        const status = failNext > 0 ? 500 : 200;
        failNext -= 1;
        received.push({
          signature: request.headers['x-rampart-signature'] as string | undefined,
          body: Buffer.concat(chunks).toString('utf8'),
          status,
        });
        response.writeHead(status).end();
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
    t = await startTestApp(shape, {
      env: {
        ALERT_RULES_FILE: join(import.meta.dirname, '..', '..', 'fixtures', 'alert-rules', 'e2e.yml'),
        ALERT_EVAL_INTERVAL: '500ms',
        ALERT_WEBHOOK_URLS: url,
        ALERT_WEBHOOK_SECRET: SECRET,
        ALERT_REPEAT_INTERVAL: '1h',
      },
      extend: (app) => {
        app.get('/test/fail', { schema: { hide: true } }, async () => {
          throw new AppError('UNAVAILABLE', 'failing on purpose');
        });
      },
    });
    const account = await registerAndLogin(t.app);
    await t.platform.db.query("update users set role = 'admin' where id = $1", [account.userId]);
    admin = bearer(account.token);
  });
  afterAll(async () => {
    await t.close();
    await new Promise((resolve) => receiver.close(resolve));
  });

  const messages = () => received.filter((each) => each.status === 200).map((each) => JSON.parse(each.body));
  const failUntilFiring = async () =>
    eventually(async () => {
      await t.app.inject({ url: '/test/fail' });
      const { active } = (await t.app.inject({ url: '/api/v1/admin/alerts', headers: admin })).json();
      return active.some((each: { state: string }) => each.state === 'firing');
    });

  it('posts a signed Alertmanager v4 message when the alert fires, retrying a 500, then a resolved one', async () => {
    await failUntilFiring();
    const firing = await eventually(async () => messages().find((message) => message.status === 'firing'));
    expect(firing).toMatchObject({ version: '4', groupLabels: { alertname: 'TestServerErrors' }, receiver: 'rampart' });
    expect(firing.alerts[0].labels).toMatchObject({ route: '/test/fail', severity: 'test' });
    // The 500 was retried with the same body; every delivery is signed over its raw body.
    expect(received[0]?.status).toBe(500);
    expect(received[0]?.body).toBe(received[1]?.body);
    for (const each of received) {
      const expected = `sha256=${createHmac('sha256', SECRET).update(each.body).digest('hex')}`;
      expect(timingSafeEqual(Buffer.from(each.signature ?? ''), Buffer.from(expected))).toBe(true);
    }
    const resolved = await eventually(async () => messages().find((message) => message.status === 'resolved'));
    expect(resolved.alerts[0]).toMatchObject({ status: 'resolved', labels: { route: '/test/fail' } });
    expect(messages().filter((message) => message.status === 'firing')).toHaveLength(1);
  });

  it('sends nothing for an alert a silence matches; evaluation goes on', async () => {
    const ends_at = new Date(Date.now() + 3_600_000).toISOString();
    const silence = await t.app.inject({
      method: 'POST',
      url: '/api/v1/admin/silences',
      payload: { matchers: [{ name: 'alertname', op: '=', value: 'TestServerErrors' }], ends_at, comment: 'maintenance' },
      headers: admin,
    });
    expect(silence.statusCode).toBe(201);
    const before = received.length;
    await failUntilFiring();
    // Several evaluations and a job poll later, still nothing new.
    const { history } = (await t.app.inject({ url: '/api/v1/admin/alerts', headers: admin })).json();
    const fired = history.filter((entry: { state: string }) => entry.state === 'firing').length;
    expect(fired).toBeGreaterThanOrEqual(2);
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    expect(received.length).toBe(before);
  });
});
