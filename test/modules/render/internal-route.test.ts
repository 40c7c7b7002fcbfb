// The render service's app in-process: its token check and route, the API's client of it
// passing the service's own answers for an input (413) through without counting a failure,
// and a render the API gave up on (its timeout) dropped by the service, not done for nobody
// and not logged as its failure.
import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config.ts';
import { HttpRemoteRenderer } from '../../../src/modules/render/remote.ts';
import { createLogger } from '../../../src/platform/observability/logger.ts';
import { buildRenderServer } from '../../../src/roles/render.ts';
import { captureLogs } from '../../helpers/test-app.ts';
import { eventually } from '../../helpers/wait.ts';
import { HUGE_TABLE } from './slow-input.ts';

const TOKEN = randomBytes(32).toString('hex');
// As in test-app.ts: a busy machine running test files in parallel delays the event loop by
// itself, and load shedding would answer 503 for it (CI did, once).
const SERVICE_ENV = { NODE_ENV: 'test', RENDER_TOKEN: TOKEN, OVERLOAD_MAX_EVENT_LOOP_DELAY_MS: '0' };

describe('the render service app', () => {
  let app: FastifyInstance;
  let url: string;
  beforeAll(async () => {
    const config = loadConfig({ ...SERVICE_ENV, MAX_RENDER_SIZE: '2kb', RENDER_THREADS: '1' });
    app = await buildRenderServer(config, createLogger('silent'));
    url = await app.listen({ host: '127.0.0.1', port: 0 });
  });
  afterAll(() => app.close());

  const post = (payload: unknown, token = TOKEN) =>
    app.inject({
      method: 'POST',
      url: '/api/v1/internal/render',
      payload: payload as object,
      headers: { authorization: `Bearer ${token}` },
    });

  it('renders Markdown and code for the holder of the token only', async () => {
    expect((await post({ kind: 'markdown', text: '**a**' })).json()).toEqual({ html: '<p><strong>a</strong></p>\n' });
    const code = await post({ kind: 'code', text: 'SELECT 1', language: 'sql' });
    expect(code.json().html).toContain('<span class="hljs-keyword">SELECT</span>');
    expect((await post({ kind: 'markdown', text: 'a' }, 'nope')).statusCode).toBe(401);
    expect((await post({ kind: 'markdown', text: 'a', extra: 1 })).statusCode).toBe(400);
    expect((await post({ kind: 'markdown', text: 'x'.repeat(3000) })).statusCode).toBe(413);
  });

  it('has the API client pass the service answer for an input (413) through, without a failure or a local render', async () => {
    const config = loadConfig({ RENDER_URL: url, RENDER_TOKEN: TOKEN, RENDER_BREAKER_FAILURES: '1' }).render;
    const remote = new HttpRemoteRenderer({ ...config, url, token: TOKEN }, createLogger('silent'));
    let local = 0;
    const renderLocally = async () => {
      local += 1;
      return 'local';
    };
    await expect(remote.render({ kind: 'markdown', text: 'x'.repeat(3000) }, renderLocally)).rejects.toMatchObject({
      code: 'PAYLOAD_TOO_LARGE',
    });
    expect(remote.state()).toBe('closed');
    expect(await remote.render({ kind: 'markdown', text: '*b*' }, renderLocally)).toBe('<p><em>b</em></p>\n');
    // A wrong token is the service failing (misconfigured): one failure opens this breaker, and the render is local.
    const misconfigured = new HttpRemoteRenderer({ ...config, url, token: 'w'.repeat(32) }, createLogger('silent'));
    expect(await misconfigured.render({ kind: 'markdown', text: 'c' }, renderLocally)).toBe('local');
    expect(misconfigured.state()).toBe('open');
    expect(local).toBe(1);
  });
});

describe('the render service under a caller that gives up', () => {
  let app: FastifyInstance;
  let url: string;
  const logs = captureLogs();
  beforeAll(async () => {
    const config = loadConfig({
      ...SERVICE_ENV,
      MAX_RENDER_SIZE: '1mb',
      RENDER_THREADS: '1',
      RENDER_TIMEOUT_MS: '120000',
      // The busy render's seconds must fit its answer's time budget too.
      TIME_BUDGET_READ_MS: '120000',
    });
    app = await buildRenderServer(config, createLogger('info', logs.stream));
    url = await app.listen({ host: '127.0.0.1', port: 0 });
  });
  afterAll(() => app.close());

  const metric = async (name: string) => {
    const body = (await app.inject({ url: '/metrics' })).body;
    const line = body.split('\n').find((each) => each.startsWith(`${name} `));
    return line === undefined ? undefined : Number(line.slice(name.length + 1));
  };

  it('drops the render the API abandoned at RENDER_REMOTE_TIMEOUT_MS, while the API renders it in-process', async () => {
    // Keeps the one thread busy for seconds.
    const busy = fetch(`${url}/api/v1/internal/render`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` },
      body: JSON.stringify({ kind: 'markdown', text: HUGE_TABLE }),
    });
    await eventually(async () => (await metric('rampart_render_tasks{state="running"}')) === 1);
    const config = loadConfig({ RENDER_URL: url, RENDER_TOKEN: TOKEN, RENDER_REMOTE_TIMEOUT_MS: '300' }).render;
    const remote = new HttpRemoteRenderer({ ...config, url, token: TOKEN }, createLogger('silent'));
    let local = 0;
    const html = await remote.render({ kind: 'markdown', text: '*waited*' }, async () => {
      local += 1;
      return '<p><em>waited</em></p>\n';
    });
    expect(html).toBe('<p><em>waited</em></p>\n');
    expect(local).toBe(1);
    // The service saw its caller leave and dropped the waiting render before it started.
    await eventually(async () => (await metric('rampart_render_dropped_total')) === 1);
    // The caller's leaving, not a failure of the service: logged at info, never at warn.
    await eventually(async () => logs.lines.some((line) => line.msg === 'client went away; its work was dropped' && line.level === 30));
    expect(logs.lines.filter((line) => (line.level as number) >= 40 && String(line.msg).includes('went away'))).toEqual([]);
    expect(await metric('rampart_render_tasks{state="waiting"}')).toBe(0);
    expect(await metric('rampart_render_tasks{state="running"}')).toBe(1);
    const answered = await busy;
    expect(answered.status).toBe(200);
    expect(((await answered.json()) as { html: string }).html).toContain('<table>');
    expect(await metric('rampart_render_dropped_total')).toBe(1);
  });
});
