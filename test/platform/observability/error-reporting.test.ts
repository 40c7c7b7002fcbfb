// Sentry reporting with the real @sentry/node SDK against a local HTTP server that plays
// Sentry's ingest endpoint and parses the envelopes it receives: a route's thrown error and a
// job that exhausts its retries each arrive once, with the request id, and without secrets.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClientGoneError } from '../../../src/platform/http/client-gone.ts';
import { setRequestAccount } from '../../../src/platform/http/request-context.ts';
import { createErrorReporter, noErrorReporter, scrub } from '../../../src/platform/observability/error-reporting.ts';
import { bearer, registerAndLogin } from '../../helpers/accounts.ts';
import { startTestApp, type TestApp } from '../../helpers/test-app.ts';
import { eventually } from '../../helpers/wait.ts';

interface SentryEvent {
  event_id: string;
  release?: string;
  tags?: Record<string, string>;
  user?: { id?: string };
  exception?: { values: { type: string; value: string }[] };
}

describe('scrub', () => {
  it('filters secret-looking keys and emails at any depth', () => {
    expect(
      scrub({
        message: 'for bob@example.org',
        extra: { password: 'x', Authorization: 'Bearer y', nested: [{ session_token: 'z', ok: 1 }] },
      }),
    ).toEqual({
      message: 'for [email]',
      extra: { password: '[Filtered]', Authorization: '[Filtered]', nested: [{ session_token: '[Filtered]', ok: 1 }] },
    });
  });

  it('loads nothing without a DSN', async () => {
    expect(await createErrorReporter({ dsn: undefined, environment: 'test', logger: undefined as never })).toBe(noErrorReporter);
  });
});

describe('Sentry reporting (embedded shape)', () => {
  let ingest: Server;
  let t: TestApp;
  const events: { raw: string; event: SentryEvent }[] = [];
  beforeAll(async () => {
    ingest = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        let body = Buffer.concat(chunks);
        if (request.headers['content-encoding'] === 'gzip') body = gunzipSync(body);
        const raw = body.toString('utf8');
        // An envelope: a header line, then item header / payload line pairs.
        const lines = raw.split('\n').filter(Boolean);
        for (let i = 1; i + 1 < lines.length; i += 2) {
          const item = JSON.parse(lines[i] as string) as { type: string };
          if (item.type === 'event') events.push({ raw, event: JSON.parse(lines[i + 1] as string) });
        }
        response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      });
    });
    await new Promise<void>((resolve) => ingest.listen(0, '127.0.0.1', resolve));
    const dsn = `http://publickey@127.0.0.1:${(ingest.address() as AddressInfo).port}/42`;
    t = await startTestApp('embedded', {
      env: { SENTRY_DSN: dsn },
      modules: {
        documents: {
          afterFirstParseWrite() {
            throw new Error('parse always fails for carol@example.net');
          },
        },
      },
      extend: (app) => {
        app.get('/test/throw', { schema: { hide: true } }, async (request) => {
          setRequestAccount(request, '00000000-0000-4000-8000-000000000042');
          throw new Error('boom for alice@example.com');
        });
        app.get('/test/client-gone', { schema: { hide: true } }, async () => {
          throw new ClientGoneError('the caller went away');
        });
      },
    });
  });
  afterAll(async () => {
    await t.close();
    await new Promise((resolve) => ingest.close(resolve));
  });

  it('reports a 500 from a route once, with request id, route template, account id and release, without secrets', async () => {
    const response = await t.app.inject({
      url: '/test/throw',
      headers: { 'x-request-id': 'sentry-route-1', authorization: 'Bearer top-secret-token', cookie: 'session=cookie-secret' },
    });
    expect(response.statusCode).toBe(500);
    const found = await eventually(async () => events.find((each) => each.event.tags?.request_id === 'sentry-route-1'));
    expect(found.event.tags).toMatchObject({ route: '/test/throw', method: 'GET' });
    expect(found.event.user).toEqual({ id: '00000000-0000-4000-8000-000000000042' });
    expect(found.event.release).toMatch(/^rampart@\d+\.\d+\.\d+/);
    expect(found.event.exception?.values[0]?.value).toBe('boom for [email]');
    for (const secret of ['alice@example.com', 'top-secret-token', 'cookie-secret']) expect(found.raw).not.toContain(secret);
    // 4xx answers are the client's, not bugs: not reported.
    await t.app.inject({ url: '/api/v1/auth/me', headers: { 'x-request-id': 'sentry-401' } });
    expect(events.filter((each) => each.event.tags?.request_id === 'sentry-route-1')).toHaveLength(1);
    expect(events.some((each) => each.event.tags?.request_id === 'sentry-401')).toBe(false);
    // Nor is work dropped because its client left (a render the API gave up on): it is no bug of ours.
    expect((await t.app.inject({ url: '/test/client-gone', headers: { 'x-request-id': 'sentry-gone' } })).statusCode).toBe(499);
    await t.app.inject({ url: '/test/throw', headers: { 'x-request-id': 'sentry-route-2' } });
    await eventually(async () => events.find((each) => each.event.tags?.request_id === 'sentry-route-2'));
    expect(events.some((each) => each.event.tags?.request_id === 'sentry-gone')).toBe(false);
  });

  it('reports a job once, when it has failed its last attempt, with the request id that caused it', async () => {
    const user = bearer((await registerAndLogin(t.app)).token);
    const project = (await t.app.inject({ method: 'POST', url: '/api/v1/projects', payload: { name: 'p' }, headers: user })).json().project;
    await t.app.inject({
      method: 'POST',
      url: `/api/v1/projects/${project.id}/documents`,
      payload: { path: 'a.ts', content: 'export const a = 1;\n' },
      headers: { ...user, 'x-request-id': 'sentry-job-1' },
    });
    const found = await eventually(async () => events.find((each) => each.event.tags?.request_id === 'sentry-job-1'), 120_000);
    expect(found.event.tags).toMatchObject({ job_type: 'documents.parse' });
    expect(found.raw).not.toContain('carol@example.net');
    // Let any further (wrong) report arrive before counting.
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    expect(events.filter((each) => each.event.tags?.request_id === 'sentry-job-1')).toHaveLength(1);
  }, 150_000);
});
