// Finding 1 of the security scan, reproduced against real `rampart serve` processes: a
// malformed gzip archive used to kill the process about a second after its 202, and the
// durable job killed every restart too. Now the import ends `rejected`, the process stays
// up, and a process started while the job is still pending runs it without dying.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { GOOD_PASSWORD, uniqueEmail } from '../../helpers/accounts.ts';
import { freePort, type RunningProcess, startCli, waitFor, waitForHttp } from '../../helpers/processes.ts';
import { createTestDatabase, scaleUrls, shapes, type TestDatabase } from '../../helpers/shapes.ts';

const BAD_GZIP = Buffer.concat([Buffer.from([0x1f, 0x8b]), Buffer.alloc(100, 0xff)]);

const running: RunningProcess[] = [];
const databases: TestDatabase[] = [];
afterEach(async () => {
  for (const child of running.splice(0)) {
    child.child.kill('SIGKILL');
    await child.exited;
  }
  for (const database of databases.splice(0)) await database.drop();
});

describe.each(shapes)('a malformed gzip import against a real process (%s shape)', (shape) => {
  it('is rejected; the process stays up, and a restart with the job pending does not crash', async () => {
    const env: Record<string, string> = { LOG_LEVEL: 'warn', JOB_POLL_INTERVAL_SECONDS: '1', JOB_NOTIFY_POLL_INTERVAL_SECONDS: '1' };
    if (shape === 'scale') {
      const database = await createTestDatabase();
      databases.push(database);
      Object.assign(env, { DATABASE_URL: database.url, REDIS_URL: scaleUrls?.redis ?? '', REDIS_KEY_PREFIX: `t${Date.now()}:` });
    } else {
      env.DATA_DIR = mkdtempSync(join(tmpdir(), 'rampart-import-'));
    }
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const start = (extra: Record<string, string> = {}) => {
      const server = startCli(['serve'], { ...env, ...extra, PORT: String(port) });
      running.push(server);
      return server;
    };
    const first = start();
    await waitForHttp(`${base}/health/live`);
    const email = uniqueEmail('scan');
    const json = { 'content-type': 'application/json' };
    await fetch(`${base}/api/v1/auth/register`, {
      method: 'POST',
      headers: json,
      body: JSON.stringify({ email, password: GOOD_PASSWORD, display_name: 'Scan' }),
    });
    const login = await fetch(`${base}/api/v1/auth/login`, {
      method: 'POST',
      headers: json,
      body: JSON.stringify({ email, password: GOOD_PASSWORD }),
    });
    const auth = { authorization: `Bearer ${((await login.json()) as { token: string }).token}` };
    const project = await fetch(`${base}/api/v1/projects`, { method: 'POST', headers: { ...auth, ...json }, body: '{"name":"scan"}' });
    const projectId = ((await project.json()) as { project: { id: string } }).project.id;
    const importBad = async () => {
      const response = await fetch(`${base}/api/v1/projects/${projectId}/import`, {
        method: 'POST',
        headers: { ...auth, 'content-type': 'application/gzip' },
        body: BAD_GZIP,
      });
      expect(response.status).toBe(202);
      return ((await response.json()) as { job: { id: string } }).job.id;
    };
    const outcome = (jobId: string) =>
      waitFor(async () => {
        const response = await fetch(`${base}/api/v1/projects/${projectId}/imports/${jobId}`, { headers: auth });
        const body = (await response.json()) as { import: { state: string; result: { status: string; reason: string } } };
        return body.import.state === 'completed' ? body.import.result : undefined;
      }, 60_000);

    // The scan's reproduction: 202, then the import ends rejected and the process is still there.
    expect(await outcome(await importBad())).toEqual({
      status: 'rejected',
      reason: 'Archive rejected: it is not a readable gzip-compressed tar archive (corrupt or truncated)',
    });
    expect((await fetch(`${base}/health/live`)).status).toBe(200);
    expect(first.child.exitCode).toBeNull();

    // A killed embedded process leaves its DATA_DIR lock until it goes stale (10 s), and a
    // restart before that exits saying so: retried as a supervisor would.
    const startWhenFree = (extra: Record<string, string> = {}) =>
      waitFor(async () => {
        const server = start(extra);
        const up = await Promise.race([waitForHttp(`${base}/health/live`, 60_000).then(() => true), server.exited.then(() => false)]);
        return up ? server : undefined;
      }, 90_000);
    // Another import accepted and the process killed before any worker took it (an API-only
    // process: a worker beside the API is woken by the job's NOTIFY at once, and a job killed
    // mid-run waits for its expiry instead): the job is pending when the next process starts.
    first.child.kill('SIGKILL');
    await first.exited;
    const apiOnly = await startWhenFree({ IN_PROCESS_WORKER: 'false' });
    const pending = await importBad();
    apiOnly.child.kill('SIGKILL');
    await apiOnly.exited;
    const second = await startWhenFree();
    expect((await outcome(pending)).status).toBe('rejected');
    expect((await fetch(`${base}/health/live`)).status).toBe(200);
    expect(second.child.exitCode).toBeNull();
    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(0);
  }, 240_000); // three process starts (migrations, Argon2id) on a busy 2-core machine
});
