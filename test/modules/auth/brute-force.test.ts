// Login brute-force limits: per account+IP and per IP, 429 with Retry-After before any hashing, cleared by a success.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GOOD_PASSWORD, registerAndLogin, uniqueEmail } from '../../helpers/accounts.ts';
import { scaleUrls, shapes } from '../../helpers/shapes.ts';
import { startTestApp, type TestApp } from '../../helpers/test-app.ts';

function loginFrom(t: TestApp, ip: string, email: string, password: string) {
  return t.app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { email, password }, remoteAddress: ip });
}

describe.each(shapes)('login brute-force limits (%s shape)', (shape) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp(shape, { env: { REGISTRATIONS_PER_IP_PER_HOUR: '1000', LOGIN_FAILURES_PER_IP_PER_HOUR: '8' } });
  });
  afterAll(() => t.close());

  it('answers the 6th attempt after 5 failures with 429 and Retry-After, even with the right password', async () => {
    const { email } = await registerAndLogin(t.app);
    for (let i = 0; i < 5; i += 1) expect((await loginFrom(t, '10.0.0.1', email, 'wrong-password-xx')).statusCode).toBe(401);
    const blocked = await loginFrom(t, '10.0.0.1', email, GOOD_PASSWORD);
    expect(blocked.statusCode).toBe(429);
    expect(blocked.json().error_code).toBe('RATE_LIMITED');
    const retryAfter = Number(blocked.headers['retry-after']);
    expect(retryAfter).toBeGreaterThan(800);
    expect(retryAfter).toBeLessThanOrEqual(900);
    expect(t.logs.some((line) => line.event === 'auth.login_locked_out' && line.ip === '10.0.0.1')).toBe(true);
    // The same account from another address is not locked out by this one.
    expect((await loginFrom(t, '10.0.0.2', email, GOOD_PASSWORD)).statusCode).toBe(200);
  });

  it('clears the account+IP counter on success', async () => {
    const { email } = await registerAndLogin(t.app);
    for (let i = 0; i < 4; i += 1) await loginFrom(t, '10.0.1.1', email, 'wrong-password-xx');
    expect((await loginFrom(t, '10.0.1.1', email, GOOD_PASSWORD)).statusCode).toBe(200);
    for (let i = 0; i < 4; i += 1) expect((await loginFrom(t, '10.0.1.1', email, 'wrong-password-xx')).statusCode).toBe(401);
  });

  it('limits failures per IP across accounts', async () => {
    for (let i = 0; i < 8; i += 1) expect((await loginFrom(t, '10.0.2.1', uniqueEmail('spray'), 'wrong-password-xx')).statusCode).toBe(401);
    const blocked = await loginFrom(t, '10.0.2.1', uniqueEmail('spray'), 'wrong-password-xx');
    expect(blocked.statusCode).toBe(429);
    expect(blocked.headers['retry-after']).toBeDefined();
  });

  it('writes audit lines with request id and IP, never the password or token', async () => {
    const me = await registerAndLogin(t.app);
    await loginFrom(t, '10.0.3.1', me.email, 'wrong-password-audit');
    const failed = t.logs.find((line) => line.event === 'auth.login_failed' && line.ip === '10.0.3.1');
    expect(failed).toMatchObject({ user_id: me.userId, ip: '10.0.3.1' });
    expect(failed?.request_id).toEqual(expect.any(String));
    expect(t.logs.some((line) => line.event === 'auth.login_succeeded' && line.user_id === me.userId)).toBe(true);
    const everything = JSON.stringify(t.logs);
    for (const secret of [GOOD_PASSWORD, 'wrong-password-audit', me.token]) expect(everything).not.toContain(secret);
  });
});

describe.runIf(scaleUrls)('login limits with Redis unreachable', () => {
  it('keeps limiting through the in-memory insurance limiter and never answers 5xx', async () => {
    const t = await startTestApp('scale', { env: { REDIS_URL: 'redis://127.0.0.1:1', REGISTRATIONS_PER_IP_PER_HOUR: '1000' } });
    try {
      const { email } = await registerAndLogin(t.app);
      const statuses: number[] = [];
      for (let i = 0; i < 6; i += 1) statuses.push((await loginFrom(t, '10.9.0.1', email, 'wrong-password-xx')).statusCode);
      expect(statuses).toEqual([401, 401, 401, 401, 401, 429]);
      expect((await loginFrom(t, '10.9.0.2', email, GOOD_PASSWORD)).statusCode).toBe(200);
    } finally {
      await t.close();
    }
  });
});
