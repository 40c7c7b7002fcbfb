// Security headers on every kind of response, with HSTS only in production.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectSecurityHeaders } from '../../helpers/expect-headers.ts';
import { startTestApp, type TestApp } from '../../helpers/test-app.ts';

describe.each([
  ['development', false],
  ['production', true],
] as const)('security headers (NODE_ENV=%s)', (nodeEnv, production) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp('embedded', { env: { NODE_ENV: nodeEnv, MAX_REQUEST_SIZE: '2kb' } });
  });
  afterAll(() => t.close());

  it('are on a success, a 404, a 400 and a 413; HSTS only in production', async () => {
    const responses = {
      // Fastify rejects this URL before any hook runs.
      badUrl: await t.app.inject({ url: '/api/v1/projects/%E0%A4%A' }),
      live: await t.app.inject({ url: '/health/live' }),
      notFound: await t.app.inject({ url: '/api/v1/nothing' }),
      invalid: await t.app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { email: 1 } }),
      tooLarge: await t.app.inject({
        method: 'POST',
        url: '/api/v1/auth/login',
        headers: { 'content-type': 'application/json' },
        payload: JSON.stringify({ email: 'a@b.c', password: 'x'.repeat(4096) }),
      }),
    };
    expect(responses.live.statusCode).toBe(200);
    expect(responses.notFound.statusCode).toBe(404);
    expect(responses.badUrl.statusCode).toBe(400);
    expect(responses.invalid.statusCode).toBe(400);
    expect(responses.tooLarge.statusCode).toBe(413);
    expect(responses.tooLarge.json().error_code).toBe('PAYLOAD_TOO_LARGE');
    for (const response of Object.values(responses)) expectSecurityHeaders(response.headers, { production });
  });
});
