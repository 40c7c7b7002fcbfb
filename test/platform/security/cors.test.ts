// CORS: exactly the configured origins, methods and headers; any other origin gets nothing.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../../helpers/test-app.ts';

describe('CORS', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp('embedded', { env: { CORS_ORIGINS: 'https://app.example,https://admin.example' } });
  });
  afterAll(() => t.close());

  const preflight = (origin: string) =>
    t.app.inject({
      method: 'OPTIONS',
      url: '/api/v1/auth/login',
      headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' },
    });

  it('answers a preflight from an allowed origin with exactly the configured policy', async () => {
    const response = await preflight('https://admin.example');
    expect(response.statusCode).toBe(204);
    expect(response.headers).toMatchObject({
      'access-control-allow-origin': 'https://admin.example',
      'access-control-allow-credentials': 'true',
      'access-control-allow-methods': 'GET, POST, PUT, PATCH, DELETE, OPTIONS',
      'access-control-allow-headers': 'Content-Type, Authorization, Accept, X-Request-ID',
      'access-control-max-age': '600',
    });
  });

  it('gives another origin no Access-Control-Allow-Origin, on preflights and on real requests', async () => {
    for (const origin of ['https://evil.example', 'https://app.example.evil.example', 'null', 'https://app.example:444']) {
      expect((await preflight(origin)).headers['access-control-allow-origin']).toBeUndefined();
      const real = await t.app.inject({ url: '/health/live', headers: { origin } });
      expect(real.headers['access-control-allow-origin']).toBeUndefined();
    }
  });

  it('lets an allowed page read the request id and rate-limit headers', async () => {
    const response = await t.app.inject({ url: '/api/v1/auth/me', headers: { origin: 'https://app.example' } });
    expect(response.headers['access-control-allow-origin']).toBe('https://app.example');
    expect(String(response.headers['access-control-expose-headers'])).toContain('X-Request-ID');
  });
});
