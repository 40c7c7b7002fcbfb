// /metrics: the families DESIGN.md lists, route templates as labels (never raw URLs), the
// token or loopback guard, and Prometheus' own promtool accepting a scrape.
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Metrics } from '../../../src/platform/observability/metrics.ts';
import { isLoopback } from '../../../src/platform/observability/metrics-route.ts';
import { bearer, GOOD_PASSWORD, registerAndLogin } from '../../helpers/accounts.ts';
import { shapes } from '../../helpers/shapes.ts';
import { startTestApp, type TestApp } from '../../helpers/test-app.ts';

const TOKEN = 'metrics-token-0123456789abcdef';
const promtool = spawnSync('promtool', ['--version']).status === 0;

/** The distinct values of one label of one metric in an exposition. */
function labelValues(body: string, metric: string, label: string): Set<string> {
  const values = new Set<string>();
  for (const line of body.split('\n')) {
    if (!line.startsWith(`${metric}{`)) continue;
    const match = new RegExp(`${label}="([^"]*)"`).exec(line);
    if (match) values.add(match[1] as string);
  }
  return values;
}

/** The value of the first sample of `metric` whose labels include every one of `labels`. */
function sample(body: string, metric: string, ...labels: string[]): number | undefined {
  const line = body.split('\n').find((each) => each.startsWith(`${metric}{`) && labels.every((label) => each.includes(label)));
  return line === undefined ? undefined : Number(line.split(' ').at(-1));
}

describe('Metrics recorders', () => {
  it('exposes every family, Node defaults included, in the text format', async () => {
    const metrics = new Metrics();
    metrics.observeRequest('/api/v1/documents/:id', 'GET', 200, 0.004);
    metrics.observeRequest('/api/v1/documents/:id', 'GET', 200, 0.2);
    metrics.observeRequest(undefined, 'GET', 404, 0.001);
    metrics.jobChanged('parse', 'active');
    metrics.jobChanged('parse', 'failed', 0.5);
    metrics.jobDeadLettered('parse');
    metrics.rateLimitRejected('api-ip');
    metrics.login('failed');
    metrics.circuitBreaker('render', 'open');
    metrics.alerts({ pending: 1, firing: 2 });
    metrics.realtime.connectionOpened();
    metrics.realtime.connectionOpened();
    metrics.realtime.connectionClosed();
    metrics.realtime.messageReceived();
    metrics.realtime.messageSent(3);
    metrics.realtime.dropped('slow_consumer');
    const { body, contentType } = await metrics.render();
    expect(contentType).toMatch(/^text\/plain; version=0\.0\.4/);
    for (const family of [
      'rampart_http_requests_total',
      'rampart_http_request_duration_seconds',
      'rampart_db_pool_connections',
      'rampart_db_pool_max_connections',
      'rampart_jobs_total',
      'rampart_job_duration_seconds',
      'rampart_jobs_dead_lettered_total',
      'rampart_rate_limit_rejections_total',
      'rampart_logins_total',
      'rampart_circuit_breaker_state',
      'rampart_alerts',
      'rampart_ws_connections',
      'rampart_ws_messages_total',
      'rampart_ws_drops_total',
      'process_cpu_seconds_total',
      'nodejs_eventloop_lag_seconds',
    ]) {
      expect(body, family).toContain(`# TYPE ${family} `);
    }
    expect(sample(body, 'rampart_http_requests_total', 'route="/api/v1/documents/:id"')).toBe(2);
    expect(sample(body, 'rampart_http_requests_total', 'route="unmatched"')).toBe(1);
    expect(sample(body, 'rampart_http_request_duration_seconds_bucket', 'le="0.005"', 'route="/api/v1/documents/:id"')).toBe(1);
    expect(sample(body, 'rampart_circuit_breaker_state', 'state="open"')).toBe(1);
    expect(sample(body, 'rampart_circuit_breaker_state', 'state="closed"')).toBe(0);
    expect(sample(body, 'rampart_ws_messages_total', 'direction="out"')).toBe(3);
    expect(body).toContain('rampart_ws_connections 1');
    expect(sample(body, 'rampart_alerts', 'state="firing"')).toBe(2);
  });

  it('reads only the socket address for loopback (v4, v6, v4-mapped)', () => {
    expect(['127.0.0.1', '127.8.0.1', '::1', '::ffff:127.0.0.1'].map(isLoopback)).toEqual([true, true, true, true]);
    expect(['10.0.0.1', '::ffff:10.0.0.1', '2001:db8::1', undefined].map(isLoopback)).toEqual([false, false, false, false]);
  });
});

describe.each(shapes)('GET /metrics (%s shape)', (shape) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp(shape, { env: { API_RATE_LIMIT_PER_MINUTE: '100000' } });
  });
  afterAll(() => t.close());

  const scrape = async () => {
    const response = await t.app.inject({ url: '/metrics' });
    expect(response.statusCode).toBe(200);
    return response.body;
  };

  it('serves loopback clients without a token and refuses others with 403 in the envelope', async () => {
    const local = await t.app.inject({ url: '/metrics' });
    expect(local.statusCode).toBe(200);
    expect(local.headers['content-type']).toMatch(/^text\/plain/);
    // A forwarded-for header from a remote socket changes nothing.
    const remote = await t.app.inject({ url: '/metrics', remoteAddress: '10.1.2.3', headers: { 'x-forwarded-for': '127.0.0.1' } });
    expect(remote.statusCode).toBe(403);
    expect(remote.json()).toMatchObject({ error_code: 'FORBIDDEN', request_id: expect.any(String) });
    expect(remote.headers['x-content-type-options']).toBe('nosniff');
  });

  it('labels requests by route template; 1,000 distinct unknown URLs share one label', async () => {
    const account = await registerAndLogin(t.app);
    for (let i = 0; i < 3; i += 1) {
      await t.app.inject({ url: `/api/v1/documents/00000000-0000-4000-8000-00000000000${i}`, headers: bearer(account.token) });
    }
    for (let i = 0; i < 1000; i += 1) await t.app.inject({ url: `/scan/${i}/wp-admin.php?x=${i}` });
    const body = await scrape();
    const routes = labelValues(body, 'rampart_http_requests_total', 'route');
    expect(routes).toContain('/api/v1/documents/:id');
    expect(routes).toContain('unmatched');
    expect([...routes].filter((route) => /\d/.test(route) && !route.includes('v1'))).toEqual([]);
    expect(routes.size).toBeLessThan(20);
    expect(sample(body, 'rampart_http_requests_total', 'route="unmatched"', 'status="404"')).toBeGreaterThanOrEqual(1000);
    expect(sample(body, 'rampart_http_requests_total', 'route="/api/v1/documents/:id"', 'status="404"')).toBe(3);
  });

  it('counts logins by outcome', async () => {
    const account = await registerAndLogin(t.app);
    await t.app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { email: account.email, password: `${GOOD_PASSWORD}x` } });
    const body = await scrape();
    expect(sample(body, 'rampart_logins_total', 'outcome="succeeded"')).toBeGreaterThanOrEqual(1);
    expect(sample(body, 'rampart_logins_total', 'outcome="failed"')).toBeGreaterThanOrEqual(1);
  });

  it('reports each readiness component, evaluated at scrape time', async () => {
    const body = await scrape();
    expect(sample(body, 'rampart_readiness_component_up', 'component="database"')).toBe(1);
    expect(sample(body, 'rampart_readiness_component_up', 'component="worker"')).toBe(1);
  });

  it.skipIf(!promtool)('passes promtool check metrics (skipped without promtool; CI installs it)', async () => {
    const body = await scrape();
    const result = spawnSync('promtool', ['check', 'metrics'], { input: body, encoding: 'utf8' });
    expect(result.stderr + result.stdout).toBe('');
    expect(result.status).toBe(0);
  });
});

describe('GET /metrics with METRICS_TOKEN', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp('embedded', { env: { METRICS_TOKEN: TOKEN, API_RATE_LIMIT_PER_MINUTE: '2' } });
  });
  afterAll(() => t.close());

  it('requires the bearer token, even from loopback', async () => {
    expect((await t.app.inject({ url: '/metrics' })).statusCode).toBe(403);
    expect((await t.app.inject({ url: '/metrics', headers: bearer(`${TOKEN}x`) })).statusCode).toBe(403);
    expect((await t.app.inject({ url: '/metrics', headers: bearer(TOKEN.slice(0, -1)) })).statusCode).toBe(403);
    expect((await t.app.inject({ url: '/metrics', headers: { authorization: TOKEN } })).statusCode).toBe(403);
    const ok = await t.app.inject({ url: '/metrics', headers: bearer(TOKEN), remoteAddress: '10.9.9.9' });
    expect(ok.statusCode).toBe(200);
    expect(ok.body).toContain('rampart_http_requests_total');
  });

  it('counts rate-limit rejections by limiter', async () => {
    for (let i = 0; i < 4; i += 1) await t.app.inject({ url: '/api/v1/auth/me' });
    const body = (await t.app.inject({ url: '/metrics', headers: bearer(TOKEN) })).body;
    expect(sample(body, 'rampart_rate_limit_rejections_total', 'limiter="api-ip"')).toBeGreaterThanOrEqual(2);
  });
});
