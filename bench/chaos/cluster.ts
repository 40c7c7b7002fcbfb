// The scale shape as an operator runs it, for the chaos suite: a fresh database on the
// local Postgres, a unique Redis key prefix, TCP relays in front of both (so a scenario can
// cut them), 2 `rampart serve` (API only) and 2 `rampart worker` processes. Processes are
// started with test/helpers/processes.ts, the same starter the process tests use.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { freePort, type RunningProcess, startCli, waitFor, waitForHttp } from '../../test/helpers/processes.ts';
import { createTestDatabase, type TestDatabase } from '../../test/helpers/shapes.ts';
import { startTcpProxy, type TcpProxy } from '../../test/helpers/tcp-proxy.ts';

export interface Api {
  port: number;
  url: string;
  process: RunningProcess;
}

export interface Worker {
  process: RunningProcess;
  consumer: string;
}

export interface Cluster {
  apis: Api[];
  workers: Worker[];
  /** A direct pool on the database (not through the relay), for seeding and invariants. */
  pool: pg.Pool;
  prefix: string;
  redisUrl: string;
  postgresRelay: TcpProxy;
  redisRelay: TcpProxy;
  /** Starts (or restarts, on the same port) API `index`. */
  startApi(index: number): Promise<Api>;
  startWorker(index: number): Promise<Worker>;
  /** Exit codes of processes that ended without the suite asking them to. */
  unexpectedExits: string[];
  /** Marks a process the suite is about to stop or kill, so its exit is not a surprise. */
  expectExit(running: RunningProcess): void;
  close(): Promise<void>;
}

/** Waits for a process to stop and says whether it was already gone. */
export async function stopProcess(running: RunningProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
  if (running.child.exitCode !== null || running.child.signalCode !== null) return running.child.exitCode;
  running.child.kill(signal);
  return running.exited;
}

export async function startCluster(options: { redisUrl: string; extraEnv?: Record<string, string> }): Promise<Cluster> {
  const database: TestDatabase = await createTestDatabase();
  const pool = new pg.Pool({ connectionString: database.url, max: 4 });
  // Dropping the database ends our connections (57P01); that is the drop, not a failure.
  pool.on('error', (error) => {
    if ((error as { code?: string }).code !== '57P01') throw error;
  });
  const dbUrl = new URL(database.url);
  const redisUrl = new URL(options.redisUrl);
  const postgresRelay = await startTcpProxy(dbUrl.hostname, Number(dbUrl.port || 5432));
  const redisRelay = await startTcpProxy(redisUrl.hostname, Number(redisUrl.port || 6379));
  dbUrl.port = String(postgresRelay.port);
  redisUrl.port = String(redisRelay.port);
  const prefix = `chaos${Date.now()}:`;
  const env: Record<string, string> = {
    DATABASE_URL: dbUrl.toString(),
    REDIS_URL: redisUrl.toString(),
    REDIS_KEY_PREFIX: prefix,
    NODE_ENV: 'production',
    LOG_LEVEL: 'info',
    IN_PROCESS_WORKER: 'false',
    UPLOAD_ROOT: mkdtempSync(join(tmpdir(), 'rampart-chaos-uploads-')),
    // The load comes from one loopback address and a few hundred accounts: it is the
    // suite's own traffic, not an attack. The auth limiter keeps its default, and the
    // Redis scenario shows it still limits while Redis is away.
    API_RATE_LIMIT_PER_MINUTE: '1000000',
    WRITE_RATE_LIMIT_PER_MINUTE: '1000000',
    VOTE_RATE_LIMIT_PER_MINUTE: '1000000',
    VOTE_CLAIM_IDLE_MS: '2000',
    VOTE_CLAIM_INTERVAL_MS: '500',
    JOB_POLL_INTERVAL_SECONDS: '1',
    SHUTDOWN_GRACE_MS: '20000',
    // As the Kubernetes manifests do (5 s there): the sigterm scenario's balancer needs a moment.
    SHUTDOWN_DRAIN_MS: '2000',
    // A busy shared machine delays event loops by itself; shedding would hide what the scenarios look at.
    OVERLOAD_MAX_EVENT_LOOP_DELAY_MS: '0',
    ...options.extraEnv,
  };
  const ports = [await freePort(), await freePort()];
  const apis: Api[] = [];
  const workers: Worker[] = [];
  const expected = new WeakSet<RunningProcess>();
  const unexpectedExits: string[] = [];
  const watch = (running: RunningProcess, label: string) => {
    running.exited.then((code) => {
      if (expected.has(running)) return;
      unexpectedExits.push(`${label} exited with ${code ?? running.child.signalCode}`);
      // What it said last is the finding: print it where the run's output goes.
      console.error(`chaos: ${label} exited with ${code ?? running.child.signalCode}; its last output:\n${running.output().slice(-4000)}`);
    });
  };

  const cluster: Cluster = {
    apis,
    workers,
    pool,
    prefix,
    redisUrl: options.redisUrl,
    postgresRelay,
    redisRelay,
    unexpectedExits,
    expectExit: (running) => expected.add(running),
    async startApi(index) {
      const port = ports[index] as number;
      const url = `http://127.0.0.1:${port}`;
      const running = startCli(['serve'], { ...env, PORT: String(port), LOG_LEVEL: 'warn' });
      watch(running, `serve ${index}`);
      await Promise.race([
        waitForHttp(`${url}/health/live`, 180_000),
        running.exited.then(() => Promise.reject(new Error(`serve ${index} exited: ${running.output()}`))),
      ]);
      const api = { port, url, process: running };
      apis[index] = api;
      return api;
    },
    async startWorker(index) {
      const running = startCli(['worker'], env);
      watch(running, `worker ${index}`);
      const consumer = await waitFor(async () => {
        if (running.child.exitCode !== null) throw new Error(running.output());
        return /"consumer":"([^"]+)"[^\n]*vote consumer started/.exec(running.output())?.[1];
      }, 180_000);
      const worker = { process: running, consumer };
      workers[index] = worker;
      return worker;
    },
    async close() {
      for (const running of [...apis, ...workers].map((item) => item.process)) {
        expected.add(running);
        await stopProcess(running, 'SIGKILL');
      }
      await postgresRelay.close();
      await redisRelay.close();
      await pool.end();
      await database.drop();
    },
  };
  // The first API migrates the fresh database; the others start on a migrated one.
  await cluster.startApi(0);
  await cluster.startApi(1);
  await cluster.startWorker(0);
  await cluster.startWorker(1);
  return cluster;
}
