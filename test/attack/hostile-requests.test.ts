// Hostile input against a real listening server: each attack gets its exact status
// and error_code, and every answer still carries the security headers.
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectSecurityHeaders } from '../helpers/expect-headers.ts';
import { rawExchange } from '../helpers/raw-http.ts';
import { startTestApp, type TestApp } from '../helpers/test-app.ts';

const LOGIN = '/api/v1/auth/login';

describe('hostile requests', () => {
  let t: TestApp;
  let port: number;
  beforeAll(async () => {
    t = await startTestApp('embedded', {
      env: { REQUEST_TIMEOUT_MS: '1000', HEADERS_TIMEOUT_MS: '1000', TIME_BUDGET_READ_MS: '150', CORS_ORIGINS: 'https://app.example' },
      extend(app) {
        app.get('/api/v1/test/slow', async () => {
          await new Promise((resolve) => setTimeout(resolve, 600));
          return { done: true };
        });
        app.get('/api/v1/test/boom', async () => {
          throw new Error('boom');
        });
      },
    });
    await t.app.listen({ host: '127.0.0.1', port: 0 });
    port = (t.app.server.address() as AddressInfo).port;
  });
  afterAll(() => t.close());

  const head = (lines: string[]) => `${lines.join('\r\n')}\r\n\r\n`;

  it('refuses an oversize Content-Length with 413 before reading the body', async () => {
    const response = await rawExchange(
      port,
      [head([`POST ${LOGIN} HTTP/1.1`, 'Host: x', 'Content-Type: application/json', 'Content-Length: 10485760'])],
      {
        timeoutMs: 3000,
      },
    );
    expect(response.status).toBe(413);
    expect(JSON.parse(response.body).error_code).toBe('PAYLOAD_TOO_LARGE');
    expect(response.elapsedMs).toBeLessThan(2500);
    expectSecurityHeaders(response.headers);
  });

  it('cuts off a chunked body once it passes the limit', async () => {
    const chunk = `{"email":"${'a'.repeat(256 * 1024)}`;
    const hex = Buffer.byteLength(chunk).toString(16);
    const parts = [head([`POST ${LOGIN} HTTP/1.1`, 'Host: x', 'Content-Type: application/json', 'Transfer-Encoding: chunked'])];
    for (let i = 0; i < 6; i += 1) parts.push(`${hex}\r\n${chunk}\r\n`);
    const response = await rawExchange(port, parts, { gapMs: 20, timeoutMs: 5000 });
    expect(response.status).toBe(413);
    expect(JSON.parse(response.body).error_code).toBe('PAYLOAD_TOO_LARGE');
  });

  it('cuts off a client that sends its body too slowly', async () => {
    const parts = [head([`POST ${LOGIN} HTTP/1.1`, 'Host: x', 'Content-Type: application/json', 'Content-Length: 64']), '{"em', 'ai', 'l"'];
    const response = await rawExchange(port, parts, { gapMs: 800, timeoutMs: 6000 });
    expect(response.elapsedMs).toBeLessThan(5000);
    expect(response.status).toBe(408);
    expect(JSON.parse(response.body).error_code).toBe('REQUEST_TIMEOUT');
  });

  it('answers an HTTP/1.1 request without Host in the envelope, with the security headers', async () => {
    const response = await rawExchange(port, [head(['GET /health/live HTTP/1.1', 'Connection: close'])]);
    expect(response.status).toBe(400);
    expect(JSON.parse(response.body)).toMatchObject({
      error_code: 'VALIDATION_FAILED',
      message: 'An HTTP/1.1 request needs a Host header',
    });
    expect(response.headers['x-request-id']).toBeTruthy();
    expectSecurityHeaders(response.headers);
    // HTTP/1.0 has no Host requirement.
    expect((await rawExchange(port, [head(['GET /health/live HTTP/1.0'])])).status).toBe(200);
  });

  it('cuts off a client that sends its headers too slowly', async () => {
    const response = await rawExchange(port, [`GET /health/live HTTP/1.1\r\n`, 'Host: x\r\n', 'X-A: 1\r\n', 'X-B: 2\r\n'], {
      gapMs: 600,
      timeoutMs: 6000,
    });
    expect(response.elapsedMs).toBeLessThan(5000);
    expect(response.status).toBe(408);
  });

  it('refuses deeply nested JSON with 400 VALIDATION_FAILED', async () => {
    const deep = `${'['.repeat(5000)}${']'.repeat(5000)}`;
    const response = await t.app.inject({ method: 'POST', url: LOGIN, headers: { 'content-type': 'application/json' }, payload: deep });
    expect(response.statusCode).toBe(400);
    expect(response.json()).toMatchObject({ error_code: 'VALIDATION_FAILED', message: 'JSON body nests deeper than 32 levels' });
    const braceInString = JSON.stringify({ email: '['.repeat(100), password: 'x' });
    expect(
      (await t.app.inject({ method: 'POST', url: LOGIN, headers: { 'content-type': 'application/json' }, payload: braceInString })).json()
        .error_code,
    ).toBe('BAD_CREDENTIALS');
  });

  it.each([
    ['__proto__', '{"email":"a@b.c","password":"x","__proto__":{"role":"admin"}}'],
    ['constructor.prototype', '{"email":"a@b.c","password":"x","constructor":{"prototype":{"role":"admin"}}}'],
  ])('refuses prototype poisoning through %s', async (_label, payload) => {
    const response = await t.app.inject({ method: 'POST', url: LOGIN, headers: { 'content-type': 'application/json' }, payload });
    expect(response.statusCode).toBe(400);
    expect(response.json()).toMatchObject({
      error_code: 'VALIDATION_FAILED',
      message: 'JSON body contains a forbidden prototype property',
    });
    expect(({} as Record<string, unknown>).role).toBeUndefined();
  });

  it('does not let X-Request-ID inject headers or carry junk', async () => {
    const injected = await rawExchange(port, [
      head(['GET /health/live HTTP/1.1', 'Host: x', 'X-Request-ID: abc', 'Set-Cookie: pwned=1', 'Connection: close']),
    ]);
    expect(injected.status).toBe(200);
    expect(injected.headers['x-request-id']).toBe('abc');
    expect(injected.headers['set-cookie']).toBeUndefined();
    const bareCr = await rawExchange(port, [
      head(['GET /health/live HTTP/1.1', 'Host: x', 'X-Request-ID: abc\rSet-Cookie: pwned=1', 'Connection: close']),
    ]);
    expect(bareCr.status).toBe(400);
    expect(JSON.parse(bareCr.body).error_code).toBe('VALIDATION_FAILED');
    expect(bareCr.headers['set-cookie']).toBeUndefined();
    const long = await t.app.inject({ url: '/health/live', headers: { 'x-request-id': 'a'.repeat(5000) } });
    expect(long.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('gives an untrusted origin no CORS access', async () => {
    const response = await t.app.inject({ url: '/api/v1/auth/me', headers: { origin: 'https://evil.example' } });
    expect(response.headers['access-control-allow-origin']).toBeUndefined();
    expect(response.headers['access-control-allow-credentials']).toBeUndefined();
  });

  it('answers a route over its time budget with 504 TIMEOUT', async () => {
    const response = await t.app.inject({ url: '/api/v1/test/slow' });
    expect(response.statusCode).toBe(504);
    expect(response.json().error_code).toBe('TIMEOUT');
    expectSecurityHeaders(response.headers);
  });

  it('keeps the security headers on every kind of error', async () => {
    const errors = [
      await t.app.inject({ url: '/api/v1/auth/me' }),
      await t.app.inject({ url: '/api/v1/test/boom' }),
      await t.app.inject({ method: 'POST', url: LOGIN, headers: { 'content-type': 'application/xml' }, payload: '<x/>' }),
      await t.app.inject({ method: 'POST', url: LOGIN, headers: { 'content-type': 'application/json' }, payload: '{bad' }),
    ];
    expect(errors.map((response) => response.statusCode)).toEqual([401, 500, 415, 400]);
    expect(errors[2]?.json().error_code).toBe('UNSUPPORTED_MEDIA_TYPE');
    for (const response of errors) expectSecurityHeaders(response.headers);
  });
});

describe('a body slower than its route time budget', () => {
  let t: TestApp;
  let port: number;
  beforeAll(async () => {
    // The write budget runs out long before Node's own request timeout.
    t = await startTestApp('embedded', { env: { TIME_BUDGET_WRITE_MS: '300', REQUEST_TIMEOUT_MS: '20000' } });
    await t.app.listen({ host: '127.0.0.1', port: 0 });
    port = (t.app.server.address() as AddressInfo).port;
  });
  afterAll(() => t.close());

  it("is the client's fault: 408 REQUEST_TIMEOUT, not a 5xx", async () => {
    const parts = [`POST ${LOGIN} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 64\r\n\r\n`, '{"em', 'ai', 'l"'];
    const response = await rawExchange(port, parts, { gapMs: 500, timeoutMs: 10_000 });
    expect(response.status).toBe(408);
    expect(JSON.parse(response.body)).toMatchObject({ error_code: 'REQUEST_TIMEOUT', message: 'The request body did not arrive in time' });
    expect(response.headers.connection).toBe('close');
    expectSecurityHeaders(response.headers);
  });
});
