// The worker's probe endpoints (WORKER_HEALTH_PORT) and `rampart health`, the image's
// HEALTHCHECK: a real `rampart worker` answers live and ready, the probe command says so
// with exit 0, and says "did not answer" with exit 1 for a port nobody serves.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, type RunningProcess, runCli, startCli } from '../helpers/processes.ts';
import { createTestDatabase, scaleUrls, type TestDatabase } from '../helpers/shapes.ts';
import { eventually } from '../helpers/wait.ts';

describe('rampart health', () => {
  it('exits 1 naming the URL when nothing answers on the role port', async () => {
    const port = await freePort();
    const result = await runCli(['health', '--role', 'serve'], { PORT: String(port), DATA_DIR: '/nonexistent' });
    expect(result.code).toBe(1);
    expect(result.output).toContain(`http://127.0.0.1:${port}/health/live did not answer`);
  });

  it('refuses an unknown role and a worker without a health port', async () => {
    expect((await runCli(['health', '--role', 'poller'], {})).output).toContain('--role must be serve, worker, render or migrate');
    const worker = await runCli(['health', '--role', 'worker'], {});
    expect(worker.code).toBe(1);
    expect(worker.output).toContain('no WORKER_HEALTH_PORT');
  });

  it('has nothing to probe for migrate (it runs once and exits)', async () => {
    expect((await runCli(['health', '--role', 'migrate'], {})).code).toBe(0);
  });
});

describe.runIf(scaleUrls)('worker probe endpoints (scale shape)', () => {
  let database: TestDatabase;
  let worker: RunningProcess;
  let env: Record<string, string>;

  beforeAll(async () => {
    database = await createTestDatabase();
    env = {
      DATABASE_URL: database.url,
      REDIS_URL: scaleUrls?.redis ?? '',
      REDIS_KEY_PREFIX: `t${Math.random().toString(16).slice(2, 10)}:`,
      WORKER_HEALTH_PORT: String(await freePort()),
    };
    expect((await runCli(['migrate'], env)).code).toBe(0);
    worker = startCli(['worker'], env);
  }, 120_000);

  afterAll(async () => {
    worker?.child.kill('SIGKILL');
    await worker?.exited;
    await database?.drop();
  });

  it('answers /health/live and /health/ready, and `rampart health` exits 0', async () => {
    const base = `http://127.0.0.1:${env.WORKER_HEALTH_PORT}`;
    const ready = await eventually(async () => {
      const response = await fetch(`${base}/health/ready`).catch(() => undefined);
      return response?.status === 200 ? ((await response.json()) as { checks: Record<string, unknown> }) : undefined;
    });
    expect(Object.keys(ready.checks)).toEqual(expect.arrayContaining(['database', 'redis', 'worker']));
    expect((await fetch(`${base}/health/live`)).status).toBe(200);
    const probe = await runCli(['health', '--role', 'worker'], env);
    expect(probe.output).toContain(`${base}/health/live 200`);
    expect(probe.code).toBe(0);
  });

  it('closes its probe listener and exits 0 on SIGTERM', async () => {
    worker.child.kill('SIGTERM');
    expect(await worker.exited).toBe(0);
    await expect(fetch(`http://127.0.0.1:${env.WORKER_HEALTH_PORT}/health/live`)).rejects.toThrow();
  });
});
