// Request rate limits: per IP on /api/v1, stricter for auth and writes, and which client IP counts (TRUST_PROXY).
import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { GOOD_PASSWORD, uniqueEmail } from '../../helpers/accounts.ts';
import { shapes } from '../../helpers/shapes.ts';
import { startTestApp, type TestApp } from '../../helpers/test-app.ts';
import { createVoters } from '../../helpers/voters.ts';

let t: TestApp | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

describe.each(shapes)('request rate limits (%s shape)', (shape) => {
  it('limits each IP on /api/v1 with RateLimit-* headers and a 429 with Retry-After', async () => {
    t = await startTestApp(shape, { env: { API_RATE_LIMIT_PER_MINUTE: '5' } });
    const app = t.app;
    const get = (ip: string) => app.inject({ url: '/api/v1/auth/me', remoteAddress: ip });
    for (let i = 0; i < 5; i += 1) {
      const response = await get('10.1.0.1');
      expect(response.statusCode).toBe(401);
      expect(response.headers['ratelimit-limit']).toBe('5');
      expect(response.headers['ratelimit-remaining']).toBe(String(4 - i));
    }
    const limited = await get('10.1.0.1');
    expect(limited.statusCode).toBe(429);
    expect(limited.json().error_code).toBe('RATE_LIMITED');
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    expect(limited.headers['ratelimit-remaining']).toBe('0');
    // Another address has its own budget; probes are not under the API limit.
    expect((await get('10.1.0.2')).statusCode).toBe(401);
    expect((await app.inject({ url: '/health/live', remoteAddress: '10.1.0.1' })).statusCode).toBe(200);
  });

  it('has a stricter limit for auth routes and for writes', async () => {
    t = await startTestApp(shape, { env: { AUTH_RATE_LIMIT_PER_MINUTE: '2', WRITE_RATE_LIMIT_PER_MINUTE: '3' } });
    const app = t.app;
    const login = () =>
      app.inject({
        method: 'POST',
        url: '/api/v1/auth/login',
        payload: { email: uniqueEmail(), password: GOOD_PASSWORD },
        remoteAddress: '10.2.0.1',
      });
    expect((await login()).statusCode).toBe(401);
    expect((await login()).statusCode).toBe(401);
    expect((await login()).statusCode).toBe(429);
    const register = () =>
      app.inject({
        method: 'POST',
        url: '/api/v1/auth/register',
        payload: { email: uniqueEmail(), password: 'x' },
        remoteAddress: '10.2.0.3',
      });
    expect((await register()).statusCode).toBe(400);
    expect((await register()).statusCode).toBe(400);
    expect((await register()).statusCode).toBe(429);
    const write = () => app.inject({ method: 'POST', url: '/api/v1/auth/logout', remoteAddress: '10.2.0.2' });
    for (let i = 0; i < 3; i += 1) expect((await write()).statusCode).toBe(401);
    expect((await write()).statusCode).toBe(429);
    // Reads from that address are still under the (larger) global limit only.
    expect((await app.inject({ url: '/api/v1/auth/me', remoteAddress: '10.2.0.2' })).statusCode).toBe(401);
  });
});

describe.each(shapes)('accounts exempt from the per-IP limits (%s shape)', (shape) => {
  it('gives an exempt account its points back and keeps limiting everyone else, from the same address too', async () => {
    const scannerId = randomUUID();
    t = await startTestApp(shape, {
      env: { API_RATE_LIMIT_PER_MINUTE: '3', WRITE_RATE_LIMIT_PER_MINUTE: '2', RATE_LIMIT_EXEMPT_ACCOUNTS: scannerId },
    });
    const query = async (text: string, params?: unknown[]) => (await t?.platform.db.query(text, params)) ?? [];
    const [scannerVoter, other] = await createVoters(query, 2, 'exempt');
    // The exempt id is configured before the account exists: give the first account that id.
    await query('insert into users (id, email, email_skeleton_hash, display_name, password_hash) values ($1, $2, $3, $4, $5)', [
      scannerId,
      'scanner@example.test',
      'scanner-skeleton',
      'Scanner',
      'not-a-login',
    ]);
    await query('update sessions set user_id = $1 where user_id = $2', [scannerId, scannerVoter?.userId]);
    const scanner = { token: scannerVoter?.token };
    const app = t.app;
    const as = (token: string | undefined, ip: string) =>
      app.inject({ url: '/api/v1/auth/me', headers: token ? { authorization: `Bearer ${token}` } : {}, remoteAddress: ip });
    for (let i = 0; i < 8; i += 1) expect((await as(scanner?.token, '10.4.0.1')).statusCode).toBe(200);
    for (let i = 0; i < 4; i += 1) {
      const write = await app.inject({
        method: 'POST',
        url: '/api/v1/projects',
        headers: { authorization: `Bearer ${scanner?.token}` },
        payload: { name: `scan ${i}` },
        remoteAddress: '10.4.0.1',
      });
      expect(write.statusCode).toBe(201);
      // A body that fails validation never reaches the route's guard: it is given back all the same.
      const invalid = await app.inject({
        method: 'POST',
        url: '/api/v1/projects',
        headers: { authorization: `Bearer ${scanner?.token}` },
        payload: { name: "x' or 1=1 --", extra: true },
        remoteAddress: '10.4.0.1',
      });
      expect(invalid.statusCode).toBe(400);
    }
    // Another account from the scanner's address still has the whole budget, and no more.
    for (let i = 0; i < 3; i += 1) expect((await as(other?.token, '10.4.0.1')).statusCode).toBe(200);
    expect((await as(other?.token, '10.4.0.1')).statusCode).toBe(429);
    expect((await as(undefined, '10.4.0.2')).statusCode).toBe(401);
  });

  it('refuses an entry that is not an account id', async () => {
    await expect(startTestApp(shape, { env: { RATE_LIMIT_EXEMPT_ACCOUNTS: 'scanner@example.test' } })).rejects.toThrow(
      /RATE_LIMIT_EXEMPT_ACCOUNTS/,
    );
  });
});

describe('client IP and TRUST_PROXY', () => {
  const spoofed = (app: TestApp['app'], forwardedFor: string) =>
    app.inject({ url: '/api/v1/auth/me', remoteAddress: '127.0.0.1', headers: { 'x-forwarded-for': forwardedFor } });

  it('ignores a spoofed X-Forwarded-For when TRUST_PROXY is off', async () => {
    t = await startTestApp('embedded', { env: { API_RATE_LIMIT_PER_MINUTE: '2' } });
    expect((await spoofed(t.app, '1.1.1.1')).statusCode).toBe(401);
    expect((await spoofed(t.app, '2.2.2.2')).statusCode).toBe(401);
    // Rotating the header did not buy a fresh budget: all three count against 127.0.0.1.
    expect((await spoofed(t.app, '3.3.3.3')).statusCode).toBe(429);
  });

  it('honours X-Forwarded-For for the configured hop count when on', async () => {
    t = await startTestApp('embedded', { env: { API_RATE_LIMIT_PER_MINUTE: '2', TRUST_PROXY: '1' } });
    for (const ip of ['1.1.1.1', '2.2.2.2', '3.3.3.3']) expect((await spoofed(t.app, ip)).statusCode).toBe(401);
    // With one trusted hop the client is the last address, not anything a client prepended.
    expect((await spoofed(t.app, '9.9.9.9, 4.4.4.4')).statusCode).toBe(401);
    expect((await spoofed(t.app, '8.8.8.8, 4.4.4.4')).statusCode).toBe(401);
    expect((await spoofed(t.app, '7.7.7.7, 4.4.4.4')).statusCode).toBe(429);
  });

  it('records the derived client IP on the session', async () => {
    t = await startTestApp('embedded', { env: { TRUST_PROXY: '127.0.0.1' } });
    const email = uniqueEmail();
    await t.app.inject({ method: 'POST', url: '/api/v1/auth/register', payload: { email, password: GOOD_PASSWORD, display_name: 'P' } });
    const login = await t.app.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      payload: { email, password: GOOD_PASSWORD },
      headers: { 'x-forwarded-for': '203.0.113.9' },
    });
    const sessions = await t.app.inject({ url: '/api/v1/auth/sessions', headers: { authorization: `Bearer ${login.json().token}` } });
    expect(sessions.json().sessions[0].ip).toBe('203.0.113.9');
  });
});
