// The alert evaluator end to end in both shapes: real 5xx responses fire a rule, the
// transition is stored and reaches an admin's WebSocket on the `alerts` topic, it resolves when the
// errors stop; the admin API reports alerts, history and rules; silences are created and ended.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppError } from '../../../src/platform/errors.ts';
import { bearer, registerAndLogin } from '../../helpers/accounts.ts';
import { shapes } from '../../helpers/shapes.ts';
import { gatewayUrl, openSocket, type TestSocket } from '../../helpers/sockets.ts';
import { startTestApp, type TestApp } from '../../helpers/test-app.ts';
import { eventually } from '../../helpers/wait.ts';

const RULES = join(import.meta.dirname, '..', '..', 'fixtures', 'alert-rules', 'e2e.yml');

describe.each(shapes)('alert evaluation (%s shape)', (shape) => {
  let t: TestApp;
  let admin: Record<string, string>;
  let user: Record<string, string>;
  const frames: { topic: string; frame: Record<string, unknown> }[] = [];
  let adminSocket: TestSocket | undefined;
  beforeAll(async () => {
    t = await startTestApp(shape, {
      env: { ALERT_RULES_FILE: RULES, ALERT_EVAL_INTERVAL: '500ms' },
      extend: (app) => {
        app.get('/test/fail', { schema: { hide: true } }, async () => {
          throw new AppError('UNAVAILABLE', 'failing on purpose');
        });
      },
    });
    const adminAccount = await registerAndLogin(t.app);
    await t.platform.db.query("update users set role = 'admin' where id = $1", [adminAccount.userId]);
    admin = bearer(adminAccount.token);
    user = bearer((await registerAndLogin(t.app)).token);
    // What the module publishes, as an admin's WebSocket subscribed to `alerts` receives it.
    const url = await gatewayUrl(t.app);
    adminSocket = await openSocket(url, admin);
    adminSocket.send({ op: 'subscribe', topic: 'alerts' });
    await adminSocket.next((frame) => frame.op === 'subscribed' && frame.topic === 'alerts');
    adminSocket.ws.on('message', (data) => {
      const frame = JSON.parse(data.toString()) as Record<string, unknown>;
      if (frame.op === 'event') frames.push({ topic: String(frame.topic), frame });
    });
    const userSocket = await openSocket(url, user);
    userSocket.send({ op: 'subscribe', topic: 'alerts' });
    expect(await userSocket.next((frame) => frame.op === 'error')).toMatchObject({ error_code: 'FORBIDDEN', topic: 'alerts' });
    userSocket.ws.close();
  });
  afterAll(async () => {
    adminSocket?.ws.close();
    await t?.close();
  });

  const alertsPage = async () => (await t.app.inject({ url: '/api/v1/admin/alerts?limit=200', headers: admin })).json();

  it('fires on real 5xx responses, publishes on the alerts topic, and resolves when they stop', async () => {
    // Errors keep coming (as in production): increase() needs two snapshots of a series, so a
    // burst before the series' first snapshot is not seen (in Prometheus either).
    const firing = await eventually(async () => {
      expect((await t.app.inject({ url: '/test/fail' })).statusCode).toBe(503);
      const page = await alertsPage();
      return page.active.find((alert: { rule: string; state: string }) => alert.rule === 'TestServerErrors' && alert.state === 'firing');
    });
    expect(firing.labels).toMatchObject({ alertname: 'TestServerErrors', route: '/test/fail', severity: 'test' });
    expect(firing.annotations.summary).toMatch(/^\/test\/fail answers 5xx/);
    const published = await eventually(async () =>
      frames.find(
        (each) =>
          each.topic === 'alerts' &&
          each.frame.event === 'alert.firing' &&
          (each.frame.data as { rule: string }).rule === 'TestServerErrors',
      ),
    );
    expect(published.frame.data).toMatchObject({ state: 'firing', labels: { route: '/test/fail' }, silenced: false });
    // The errors stop: the 10 s window empties and the alert resolves.
    const resolved = await eventually(async () => {
      const page = await alertsPage();
      return page.history.find((entry: { rule: string; state: string }) => entry.rule === 'TestServerErrors' && entry.state === 'resolved');
    });
    expect(resolved.labels.route).toBe('/test/fail');
    const states = (await alertsPage()).history
      .filter((entry: { rule: string }) => entry.rule === 'TestServerErrors')
      .map((entry: { state: string }) => entry.state)
      .reverse();
    expect(states).toEqual(['pending', 'firing', 'resolved']);
    await eventually(async () => frames.some((each) => each.frame.event === 'alert.resolved'));
  });

  it('lists the rules with their state and last evaluation', async () => {
    const response = await t.app.inject({ url: '/api/v1/admin/alert-rules', headers: admin });
    expect(response.statusCode).toBe(200);
    const rules = response.json().rules as { name: string; state: string; last_evaluation: string | null; duration: string }[];
    expect(rules.map((rule) => rule.name)).toEqual(expect.arrayContaining(['HighErrorRate', 'ReadinessComponentDown', 'TestServerErrors']));
    const own = rules.find((rule) => rule.name === 'TestServerErrors');
    expect(own).toMatchObject({ duration: '0s', keep_firing_for: '0s', group: 'e2e' });
    expect(own?.last_evaluation).toEqual(expect.any(String));
  });

  it('pages the history with a cursor', async () => {
    const first = (await t.app.inject({ url: '/api/v1/admin/alerts?limit=1', headers: admin })).json();
    expect(first.history).toHaveLength(1);
    expect(first.next_cursor).toEqual(expect.any(String));
    const second = (await t.app.inject({ url: `/api/v1/admin/alerts?limit=1&cursor=${first.next_cursor}`, headers: admin })).json();
    expect(second.history[0].id).not.toBe(first.history[0].id);
    const forged = await t.app.inject({ url: '/api/v1/admin/alerts?cursor=bm9wZQ', headers: admin });
    expect(forged.statusCode).toBe(400);
  });

  it('creates and ends silences (admins only), refusing bad ones', async () => {
    const body = {
      matchers: [{ name: 'alertname', op: '=~', value: 'Test.*' }],
      ends_at: new Date(Date.now() + 3_600_000).toISOString(),
      comment: 'test',
    };
    expect((await t.app.inject({ method: 'POST', url: '/api/v1/admin/silences', payload: body, headers: user })).statusCode).toBe(403);
    const created = await t.app.inject({ method: 'POST', url: '/api/v1/admin/silences', payload: body, headers: admin });
    expect(created.statusCode).toBe(201);
    const { silence } = created.json();
    expect(silence).toMatchObject({ matchers: body.matchers, comment: 'test', created_by: expect.any(String) });
    const past = await t.app.inject({
      method: 'POST',
      url: '/api/v1/admin/silences',
      payload: { ...body, ends_at: '2020-01-01T00:00:00Z' },
      headers: admin,
    });
    expect(past.statusCode).toBe(400);
    expect(past.json().details).toEqual([{ path: 'body.ends_at', message: 'must be in the future' }]);
    const badRegex = { ...body, matchers: [{ name: 'a', op: '=~', value: '(' }] };
    expect(
      (await t.app.inject({ method: 'POST', url: '/api/v1/admin/silences', payload: badRegex, headers: admin })).json().details,
    ).toEqual([{ path: 'body.matchers.0.value', message: 'is not a valid regular expression' }]);
    expect((await t.app.inject({ method: 'DELETE', url: `/api/v1/admin/silences/${silence.id}`, headers: admin })).statusCode).toBe(204);
    expect((await t.app.inject({ method: 'DELETE', url: `/api/v1/admin/silences/${silence.id}`, headers: admin })).statusCode).toBe(404);
  });

  it('counts alerts by state in /metrics', async () => {
    const body = (await t.app.inject({ url: '/metrics' })).body;
    expect(body).toMatch(/^rampart_alerts\{state="firing"\} \d+$/m);
  });
});
