// Acceptance: parallel guesses cannot outrun the lockout. Each attempt reserves its
// point before Argon2id runs, so N parallel guesses get at most the limit of 401s.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, registerAndLogin, uniqueEmail } from '../../helpers/accounts.ts';
import { shapes } from '../../helpers/shapes.ts';
import { startTestApp, type TestApp } from '../../helpers/test-app.ts';

const PARALLEL = 20;

function statusCounts(statuses: number[]): Record<number, number> {
  const counts: Record<number, number> = {};
  for (const status of statuses) counts[status] = (counts[status] ?? 0) + 1;
  return counts;
}

describe.each(shapes)('lockout under parallel guesses (%s shape)', (shape) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp(shape, { env: { LOGIN_FAILURES_PER_IP_PER_HOUR: '8' } });
  });
  afterAll(() => t.close());

  const login = (ip: string, email: string, password: string) =>
    t.app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { email, password }, remoteAddress: ip });
  const failedLines = (ip: string) => t.logs.filter((line) => line.event === 'auth.login_failed' && line.ip === ip);

  it(`lets at most 5 of ${PARALLEL} parallel wrong passwords for one account reach Argon2id`, async () => {
    const { email, userId } = await registerAndLogin(t.app);
    const responses = await Promise.all(Array.from({ length: PARALLEL }, () => login('10.7.0.1', email, 'wrong-password-xx')));
    const counts = statusCounts(responses.map((response) => response.statusCode));
    expect(counts).toEqual({ 401: 5, 429: PARALLEL - 5 });
    expect(failedLines('10.7.0.1').filter((line) => line.user_id === userId)).toHaveLength(5);
    for (const response of responses.filter((item) => item.statusCode === 429)) {
      expect(Number(response.headers['retry-after'])).toBeGreaterThan(0);
    }
  });

  it('counts an unknown email the same way: its dummy verification is an attempt too', async () => {
    const ghost = uniqueEmail('ghost');
    const responses = await Promise.all(Array.from({ length: PARALLEL }, () => login('10.7.0.2', ghost, 'wrong-password-xx')));
    expect(statusCounts(responses.map((response) => response.statusCode))).toEqual({ 401: 5, 429: PARALLEL - 5 });
    expect(failedLines('10.7.0.2')).toHaveLength(5);
  });

  it('holds the per-IP limit (8 here) against parallel guesses spread over many accounts', async () => {
    const responses = await Promise.all(
      Array.from({ length: PARALLEL }, () => login('10.7.0.3', uniqueEmail('spray'), 'wrong-password-xx')),
    );
    expect(statusCounts(responses.map((response) => response.statusCode))).toEqual({ 401: 8, 429: PARALLEL - 8 });
    expect(failedLines('10.7.0.3')).toHaveLength(8);
  });

  it('does not count successful logins against the per-IP failure limit', async () => {
    const me = await registerAndLogin(t.app);
    for (let i = 0; i < 10; i += 1) expect((await login('10.7.0.4', me.email, me.password)).statusCode).toBe(200);
    // 10 successes from this address left all 8 failures of the hour to spend.
    for (let i = 0; i < 8; i += 1) expect((await login('10.7.0.4', uniqueEmail('after'), 'wrong-password-xx')).statusCode).toBe(401);
    expect((await login('10.7.0.4', uniqueEmail('after'), 'wrong-password-xx')).statusCode).toBe(429);
  });

  it(`lets at most 5 of ${PARALLEL} parallel wrong current passwords through a password change`, async () => {
    const me = await registerAndLogin(t.app);
    const responses = await Promise.all(
      Array.from({ length: PARALLEL }, () =>
        t.app.inject({
          method: 'POST',
          url: '/api/v1/auth/password',
          headers: bearer(me.token),
          payload: { current_password: 'wrong-password-xx', new_password: 'another-violet-otter-77' },
          remoteAddress: '10.7.0.5',
        }),
      ),
    );
    expect(statusCounts(responses.map((response) => response.statusCode))).toEqual({ 401: 5, 429: PARALLEL - 5 });
    const failed = t.logs.filter((line) => line.event === 'auth.password_change_failed' && line.user_id === me.userId);
    expect(failed).toHaveLength(5);
  });
});
