// Acceptance: login counters are shared by every process of the scale shape.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GOOD_PASSWORD, uniqueEmail } from '../../helpers/accounts.ts';
import { freePort, type RunningProcess, startCli, waitFor, waitForHttp } from '../../helpers/processes.ts';
import { createTestDatabase, scaleUrls, type TestDatabase } from '../../helpers/shapes.ts';

describe.runIf(scaleUrls)('two server processes sharing Postgres and Redis', () => {
  let database: TestDatabase;
  const servers: { process: RunningProcess; base: string }[] = [];
  let workerProcess: RunningProcess | undefined;

  beforeAll(async () => {
    database = await createTestDatabase();
    const env = {
      DATABASE_URL: database.url,
      REDIS_URL: scaleUrls?.redis ?? '',
      REDIS_KEY_PREFIX: `t${randomBytes(4).toString('hex')}:`,
      // Every request here comes from 127.0.0.1: the per-minute route limit must not be what answers 429.
      AUTH_RATE_LIMIT_PER_MINUTE: '1000',
    };
    for (let i = 0; i < 2; i += 1) {
      const port = await freePort();
      // Info level: the audit lines (auth.login_failed) are what an operator counts.
      servers.push({ process: startCli(['serve'], { ...env, PORT: String(port), LOG_LEVEL: 'info' }), base: `http://127.0.0.1:${port}` });
    }
    workerProcess = startCli(['worker'], { ...env, LOG_LEVEL: 'warn' });
    for (const server of servers) {
      await waitForHttp(`${server.base}/health/live`);
      await waitFor(async () => ((await fetch(`${server.base}/health/ready`)).status === 200 ? true : undefined));
    }
  });

  afterAll(async () => {
    for (const process of [...servers.map((server) => server.process), workerProcess]) {
      process?.child.kill('SIGTERM');
      await process?.exited;
    }
    await database.drop();
  });

  const post = (base: string, path: string, body: object) =>
    fetch(`${base}/api/v1${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

  it('counts failures from both processes together: the 6th, on either, is 429 with Retry-After', async () => {
    const [a, b] = servers as [(typeof servers)[0], (typeof servers)[0]];
    const email = uniqueEmail('shared');
    expect((await post(a.base, '/auth/register', { email, password: GOOD_PASSWORD, display_name: 'S' })).status).toBe(201);
    for (let i = 0; i < 5; i += 1) {
      const target = i % 2 === 0 ? a : b;
      expect((await post(target.base, '/auth/login', { email, password: 'wrong-password-xx' })).status).toBe(401);
    }
    for (const target of [a, b]) {
      const response = await post(target.base, '/auth/login', { email, password: GOOD_PASSWORD });
      expect(response.status).toBe(429);
      expect(Number(response.headers.get('retry-after'))).toBeGreaterThan(0);
      expect(((await response.json()) as { error_code: string }).error_code).toBe('RATE_LIMITED');
    }
  });

  it('lets at most 5 of 20 parallel wrong passwords, spread over both processes, reach Argon2id', async () => {
    const [a, b] = servers as [(typeof servers)[0], (typeof servers)[0]];
    const email = uniqueEmail('race');
    const registered = await post(a.base, '/auth/register', { email, password: GOOD_PASSWORD, display_name: 'R' });
    const userId = ((await registered.json()) as { user: { id: string } }).user.id;
    const responses = await Promise.all(
      Array.from({ length: 20 }, (_, i) => post((i % 2 === 0 ? a : b).base, '/auth/login', { email, password: 'wrong-password-xx' })),
    );
    const statuses = responses.map((response) => response.status);
    expect(statuses.filter((status) => status === 401)).toHaveLength(5);
    expect(statuses.filter((status) => status === 429)).toHaveLength(15);
    const lockedOut = responses.find((response) => response.status === 429) as Response;
    expect(((await lockedOut.json()) as { message: string }).message).toMatch(/failed logins/);
    // Every 401 wrote its audit line on the process that verified it: 5 in all.
    const failedLines = () =>
      servers
        .flatMap((server) => server.process.output().split('\n'))
        .filter((line) => line.includes('"auth.login_failed"') && line.includes(userId));
    await waitFor(async () => (failedLines().length >= 5 ? true : undefined));
    expect(failedLines()).toHaveLength(5);
  });

  it('shares sessions: a token from one process works on the other', async () => {
    const [a, b] = servers as [(typeof servers)[0], (typeof servers)[0]];
    const email = uniqueEmail('roam');
    await post(a.base, '/auth/register', { email, password: GOOD_PASSWORD, display_name: 'R' });
    const { token } = (await (await post(a.base, '/auth/login', { email, password: GOOD_PASSWORD })).json()) as { token: string };
    const me = await fetch(`${b.base}/api/v1/auth/me`, { headers: { authorization: `Bearer ${token}` } });
    expect(me.status).toBe(200);
  });
});
