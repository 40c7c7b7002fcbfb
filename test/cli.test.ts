// The `rampart` CLI as an operator runs it: real child processes for every role, both shapes.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort, type RunningProcess, runCli, startCli, waitFor, waitForHttp } from './helpers/processes.ts';
import { createTestDatabase, scaleUrls } from './helpers/shapes.ts';

const running: RunningProcess[] = [];
afterEach(async () => {
  for (const process of running.splice(0)) {
    process.child.kill('SIGKILL');
    await process.exited;
  }
});

function dataDir(): string {
  return mkdtempSync(join(tmpdir(), 'rampart-cli-'));
}

describe('rampart CLI', () => {
  it('prints help for the program and for each command', async () => {
    const general = await runCli(['--help'], {});
    expect(general.code).toBe(0);
    for (const command of ['serve', 'worker', 'migrate', 'user create']) expect(general.output).toContain(command);
    const userHelp = await runCli(['user', 'create', '--help'], {});
    expect(userHelp.code).toBe(0);
    expect(userHelp.output).toContain('--admin');
    const unknown = await runCli(['explode'], {});
    expect(unknown.code).toBe(2);
  });

  it('refuses a bad setting with a message naming the variable', async () => {
    const result = await runCli(['serve'], { PORT: 'abc', DATA_DIR: dataDir() });
    expect(result.code).toBe(1);
    expect(result.output.trim()).toBe('Invalid configuration: PORT must be a whole number from 0 to 65535 (got "abc")');
  });

  it('serves the embedded shape, refuses a second process on the same DATA_DIR, and stops cleanly on SIGTERM', async () => {
    const dir = dataDir();
    const port = await freePort();
    const first = startCli(['serve'], { PORT: String(port), DATA_DIR: dir, LOG_LEVEL: 'info' });
    running.push(first);
    const ready = await waitForHttp(`http://127.0.0.1:${port}/health/ready`);
    expect(ready.status).toBe(200);
    expect(ready.headers.get('x-request-id')).toBeTruthy();
    expect(((await ready.json()) as { status: string }).status).toBe('ready');

    const second = await runCli(['serve'], { PORT: String(await freePort()), DATA_DIR: dir });
    expect(second.code).not.toBe(0);
    expect(second.output).toContain('is locked by another Rampart process');
    expect((await fetch(`http://127.0.0.1:${port}/health/ready`)).status).toBe(200);

    first.child.kill('SIGTERM');
    expect(await first.exited).toBe(0);
    expect(first.output()).toContain('shutdown complete');

    // The lock went with the process: the same DATA_DIR starts again, data intact.
    const again = startCli(['serve'], { PORT: String(port), DATA_DIR: dir });
    running.push(again);
    expect((await waitForHttp(`http://127.0.0.1:${port}/health/ready`)).status).toBe(200);
  });

  it('exits non-zero when a pending migration fails to apply', async () => {
    const dir = dataDir();
    // A table in the way of the accounts migration makes it fail.
    const db = await PGlite.create(join(dir, 'pg'));
    await db.exec('create table sessions (oops int)');
    await db.close();
    const result = await runCli(['migrate'], { DATA_DIR: dir });
    expect(result.code).toBe(1);
    expect(result.output).toContain('start-up failed');
    const serve = await runCli(['serve'], { DATA_DIR: dir, PORT: String(await freePort()) });
    expect(serve.code).toBe(1);
  });

  it('bootstraps an operator with user create --admin, who can then sign in as admin', async () => {
    const dir = dataDir();
    const created = await runCli(['user', 'create', '--email', 'Ops@Example.test', '--password', 'operator-pass-phrase', '--admin'], {
      DATA_DIR: dir,
    });
    expect(created.code).toBe(0);
    expect(created.output).toContain('created admin ops@example.test');
    expect(created.output).not.toContain('operator-pass-phrase');
    const duplicate = await runCli(['user', 'create', '--email', 'ops@example.test', '--password', 'operator-pass-phrase'], {
      DATA_DIR: dir,
    });
    expect(duplicate.code).toBe(1);
    expect(duplicate.output).toContain('already exists');
    const weak = await runCli(['user', 'create', '--email', 'x@example.test', '--password', 'short'], { DATA_DIR: dir });
    expect(weak.code).toBe(1);
    expect(weak.output).toContain('at least 12');

    const port = await freePort();
    const server = startCli(['serve'], { PORT: String(port), DATA_DIR: dir });
    running.push(server);
    await waitForHttp(`http://127.0.0.1:${port}/health/live`);
    const login = await fetch(`http://127.0.0.1:${port}/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'ops@example.test', password: 'operator-pass-phrase' }),
    });
    const { token, user } = (await login.json()) as { token: string; user: { role: string } };
    expect(user.role).toBe('admin');
    const users = await fetch(`http://127.0.0.1:${port}/api/v1/admin/users`, { headers: { authorization: `Bearer ${token}` } });
    expect(users.status).toBe(200);
  });

  it.runIf(scaleUrls)('creates a user with Redis unreachable, touching neither Redis nor the job queue', async () => {
    const database = await createTestDatabase();
    try {
      // Nothing listens on port 1: a role that needed Redis would say so or wait for it.
      const env = { DATABASE_URL: database.url, REDIS_URL: 'redis://127.0.0.1:1', LOG_LEVEL: 'info' };
      const created = await runCli(['user', 'create', '--email', 'cli@example.test', '--password', 'operator-pass-phrase'], env);
      expect(created.code, created.output).toBe(0);
      expect(created.output).toContain('created user cli@example.test');
      expect(created.output.toLowerCase()).not.toContain('redis');
      const client = new pg.Client({ connectionString: database.url });
      await client.connect();
      try {
        // The job queue was never started: no schema, so no schedule (no cron job was set up).
        const { rows } = await client.query("select to_regclass('pgboss.schedule') is null as absent");
        expect(rows[0].absent).toBe(true);
        expect((await client.query('select email from users')).rows).toEqual([{ email: 'cli@example.test' }]);
      } finally {
        await client.end();
      }
    } finally {
      await database.drop();
    }
  });

  it.runIf(scaleUrls)('serves the scale shape from `npm start` alone and keeps the database password out of its logs', async () => {
    const database = await createTestDatabase();
    try {
      const withPassword = new URL(database.url);
      withPassword.username = 'postgres';
      withPassword.password = 's3cret-pw'; // trust auth ignores it; the logs must not show it
      const port = await freePort();
      const server = startCli(['serve'], { DATABASE_URL: withPassword.toString(), REDIS_URL: scaleUrls?.redis ?? '', PORT: String(port) });
      running.push(server);
      await waitForHttp(`http://127.0.0.1:${port}/health/live`);
      const ready = await waitFor(async () => {
        const response = await fetch(`http://127.0.0.1:${port}/health/ready`);
        return response.status === 200 ? response : undefined;
      });
      expect(((await ready.json()) as { checks: unknown }).checks).toMatchObject({ database: { status: 'ok' }, worker: { status: 'ok' } });
      expect(server.output()).toContain('postgres:***@');
      expect(server.output()).not.toContain('s3cret-pw');
      server.child.kill('SIGTERM');
      expect(await server.exited).toBe(0);
    } finally {
      await database.drop();
    }
  });

  it.runIf(scaleUrls)('runs the same migrations on Postgres + Redis; an API-only serve is ready only while a worker beats', async () => {
    const database = await createTestDatabase();
    try {
      const env = {
        DATABASE_URL: database.url,
        REDIS_URL: scaleUrls?.redis ?? '',
        REDIS_KEY_PREFIX: `t${Date.now()}:`,
        WORKER_HEARTBEAT_INTERVAL_MS: '200',
        WORKER_HEARTBEAT_GRACE_MS: '1500',
      };
      const apiOnly = { ...env, IN_PROCESS_WORKER: 'false' };
      const migrate = await runCli(['migrate'], env);
      expect(migrate.code).toBe(0);
      const port = await freePort();
      const server = startCli(['serve'], { ...apiOnly, PORT: String(port) });
      running.push(server);
      const notYet = await waitForHttp(`http://127.0.0.1:${port}/health/ready`);
      expect(notYet.status).toBe(503);
      expect(((await notYet.json()) as { checks: Record<string, { status: string }> }).checks.worker?.status).toBe('error');

      const worker = startCli(['worker'], env);
      running.push(worker);
      const ready = await waitFor(async () => {
        const response = await fetch(`http://127.0.0.1:${port}/health/ready`);
        return response.status === 200 ? response : undefined;
      });
      expect(((await ready.json()) as { checks: unknown }).checks).toMatchObject({
        database: { status: 'ok' },
        redis: { status: 'ok' },
        worker: { status: 'ok' },
      });

      // A worker that dies without saying goodbye: readiness turns 503 once the grace runs out.
      worker.child.kill('SIGKILL');
      const killedAt = Date.now();
      await waitFor(async () => ((await fetch(`http://127.0.0.1:${port}/health/ready`)).status === 503 ? true : undefined));
      expect(Date.now() - killedAt).toBeGreaterThan(500);

      server.child.kill('SIGTERM');
      expect(await server.exited).toBe(0);
    } finally {
      await database.drop();
    }
  });
});
