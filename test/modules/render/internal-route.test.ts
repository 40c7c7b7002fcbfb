// The render service's app in-process: its token check and route, and the API's client of it
// passing the service's own answers for an input (413) through without counting a failure.
import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config.ts';
import { HttpRemoteRenderer } from '../../../src/modules/render/remote.ts';
import { createLogger } from '../../../src/platform/observability/logger.ts';
import { buildRenderServer } from '../../../src/roles/render.ts';

const TOKEN = randomBytes(32).toString('hex');

describe('the render service app', () => {
  let app: FastifyInstance;
  let url: string;
  beforeAll(async () => {
    const config = loadConfig({ NODE_ENV: 'test', RENDER_TOKEN: TOKEN, MAX_RENDER_SIZE: '2kb', RENDER_THREADS: '1' });
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
