// Serving the built web UI: hashed assets cached as immutable, index.html revalidated, page
// paths answered with the app shell, and /api, /health, /metrics and missing assets left to
// the API's own 404 (or legacy redirect); every answer under the security headers (CSP).
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerErrorHandling } from '../../src/platform/http/error-handler.ts';
import { registerWebUi } from '../../src/platform/http/web-ui.ts';
import { createResponseHeaderStamp } from '../../src/platform/security/headers.ts';
import { expectSecurityHeaders } from '../helpers/expect-headers.ts';

const SHELL = '<!doctype html><title>app</title><script type="module" src="/assets/index-abc123.js"></script>';

describe('web UI serving', () => {
  let app: FastifyInstance;
  beforeAll(async () => {
    const dist = mkdtempSync(join(tmpdir(), 'rampart-web-'));
    mkdirSync(join(dist, 'assets'));
    writeFileSync(join(dist, 'index.html'), SHELL);
    writeFileSync(join(dist, 'assets', 'index-abc123.js'), 'console.log(1)');
    writeFileSync(join(dist, 'favicon.svg'), '<svg xmlns="http://www.w3.org/2000/svg"/>');
    app = Fastify();
    const stamp = createResponseHeaderStamp(false);
    app.addHook('onRequest', async (request, reply) => stamp(request, reply));
    let shell: Awaited<ReturnType<typeof registerWebUi>>;
    registerErrorHandling(app, 'redirect', undefined, (request, reply) => shell?.(request, reply));
    app.get('/api/v1/things', async () => ({ things: [] }));
    app.get('/health/live', async () => ({ status: 'ok' }));
    shell = await registerWebUi(app, dist);
    await app.ready();
  });
  afterAll(() => app?.close());

  it('serves index.html at / for revalidation, under the security headers and CSP', async () => {
    const response = await app.inject({ url: '/' });
    expect(response.statusCode).toBe(200);
    expect(response.body).toBe(SHELL);
    expect(response.headers['content-type']).toMatch(/^text\/html/);
    expect(response.headers['cache-control']).toBe('no-cache');
    expectSecurityHeaders(response.headers);
  });

  it('caches hashed assets for a year as immutable', async () => {
    const response = await app.inject({ url: '/assets/index-abc123.js' });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toMatch(/javascript/);
    expect(response.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    expectSecurityHeaders(response.headers);
    expect((await app.inject({ url: '/favicon.svg' })).headers['cache-control']).toBe('no-cache');
  });

  const html = { accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8' };

  it("answers a browser's navigation to the UI's page paths with the app shell", async () => {
    for (const url of ['/projects', '/admin/jobs?state=failed', '/documents/5b3a2c8e-0000-4000-8000-000000000000']) {
      const response = await app.inject({ url, headers: html });
      expect(response.statusCode, url).toBe(200);
      expect(response.body).toBe(SHELL);
      expect(response.headers['cache-control']).toBe('no-cache');
      expectSecurityHeaders(response.headers);
    }
    const head = await app.inject({ method: 'HEAD', url: '/polls', headers: html });
    expect(head.statusCode).toBe(200);
  });

  it('leaves the API, operational paths, missing files, non-browsers and other methods alone', async () => {
    expect((await app.inject({ url: '/api/v1/things' })).json()).toEqual({ things: [] });
    for (const url of [
      '/api/v1/nothing',
      '/health/nothing',
      '/metrics',
      '/assets/index-gone.js',
      '/wp-admin.php',
      '/scan/1/x.env',
      '/api',
    ]) {
      const response = await app.inject({ url, headers: html });
      if (url === '/api') {
        expect(response.statusCode).toBe(301);
        continue;
      }
      expect(response.statusCode, url).toBe(404);
      expect(response.json().error_code).toBe('NOT_FOUND');
    }
    // A client that does not ask for HTML (curl, a scanner, an API client) gets the API's 404.
    expect((await app.inject({ url: '/projects' })).json().error_code).toBe('NOT_FOUND');
    expect((await app.inject({ url: '/projects', headers: { accept: 'application/json' } })).statusCode).toBe(404);
    const post = await app.inject({ method: 'POST', url: '/projects', payload: {}, headers: html });
    expect(post.statusCode).toBe(404);
    expect(post.json().error_code).toBe('NOT_FOUND');
  });

  it('runs the API alone when the UI is not built', async () => {
    const bare = Fastify();
    expect(await registerWebUi(bare, join(tmpdir(), 'rampart-no-such-build'))).toBeUndefined();
    await bare.close();
  });
});
