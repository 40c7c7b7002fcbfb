// The vote path against real processes (scale shape: real Postgres, Redis, `rampart serve`
// and `rampart worker`): a consumer killed with SIGKILL mid-stream, the API killed and
// restarted mid-load, a consumer stopped with SIGTERM mid-batch, and Redis unreachable.
import { Redis } from 'ioredis';
import pg from 'pg';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { CONSUMER_GROUP } from '../../../src/modules/polls/redis-vote-log.ts';
import { bearer } from '../../helpers/accounts.ts';
import { freePort, type RunningProcess, startCli, waitFor, waitForHttp } from '../../helpers/processes.ts';
import { deleteKeysAt } from '../../helpers/redis-keys.ts';
import { createTestDatabase, scaleUrls, type TestDatabase } from '../../helpers/shapes.ts';
import { startTestApp } from '../../helpers/test-app.ts';
import { createVoters, type Voter } from '../../helpers/voters.ts';
import { eventually } from '../../helpers/wait.ts';

const running: RunningProcess[] = [];
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const child of running.splice(0)) {
    if (child.child.exitCode === null && child.child.signalCode === null) child.child.kill('SIGKILL');
    await child.exited;
  }
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});
let redis: Redis | undefined;
afterAll(() => redis?.disconnect());

interface Cluster {
  env: Record<string, string>;
  base: string;
  port: number;
  pool: pg.Pool;
  prefix: string;
  serve(): Promise<RunningProcess>;
  worker(): Promise<RunningProcess & { consumer: string }>;
}

/** A fresh database and key prefix, and starters for `serve` (API only) and `worker` processes on them. */
async function cluster(): Promise<Cluster> {
  const database: TestDatabase = await createTestDatabase();
  const pool = new pg.Pool({ connectionString: database.url, max: 4 });
  // Dropping the database terminates its connections (57P01), one of ours possibly still
  // ending: that is the drop, not a failure. Anything else stays an unhandled error.
  pool.on('error', (error) => {
    if ((error as { code?: string }).code !== '57P01') throw error;
  });
  cleanups.push(async () => {
    await pool.end();
    await database.drop();
  });
  const prefix = `tp${Date.now()}${Math.floor(Math.random() * 1e6)}:`;
  // Runs after the processes are killed (afterEach kills them first).
  cleanups.push(async () => {
    await deleteKeysAt(scaleUrls?.redis ?? '', prefix);
  });
  const port = await freePort();
  const env: Record<string, string> = {
    DATABASE_URL: database.url,
    REDIS_URL: scaleUrls?.redis ?? '',
    REDIS_KEY_PREFIX: prefix,
    LOG_LEVEL: 'info',
    IN_PROCESS_WORKER: 'false',
    API_RATE_LIMIT_PER_MINUTE: '1000000',
    WRITE_RATE_LIMIT_PER_MINUTE: '1000000',
    VOTE_BATCH_SIZE: '50',
    VOTE_BLOCK_MS: '200',
    VOTE_CLAIM_IDLE_MS: '1000',
    VOTE_CLAIM_INTERVAL_MS: '300',
    JOB_POLL_INTERVAL_SECONDS: '1',
    JOB_NOTIFY_POLL_INTERVAL_SECONDS: '1',
    SHUTDOWN_GRACE_MS: '30000',
  };
  const base = `http://127.0.0.1:${port}`;
  return {
    env,
    base,
    port,
    pool,
    prefix,
    async serve() {
      const server = startCli(['serve'], { ...env, PORT: String(port) });
      running.push(server);
      await Promise.race([waitForHttp(`${base}/health/live`), server.exited.then(() => Promise.reject(new Error(server.output())))]);
      return server;
    },
    async worker() {
      const worker = startCli(['worker'], env);
      running.push(worker);
      const consumer = await waitFor(async () => {
        if (worker.child.exitCode !== null) throw new Error(worker.output());
        return /"consumer":"([^"]+)"[^\n]*vote consumer started/.exec(worker.output())?.[1];
      });
      return Object.assign(worker, { consumer });
    },
  };
}

const query = (pool: pg.Pool) => async (text: string, params?: unknown[]) => (await pool.query(text, params)).rows;

async function createPoll(base: string, owner: Voter, options = 4): Promise<string> {
  const response = await fetch(`${base}/api/v1/polls`, {
    method: 'POST',
    headers: { ...bearer(owner.token), 'content-type': 'application/json' },
    body: JSON.stringify({ question: 'Which?', options: Array.from({ length: options }, (_, i) => `option ${i}`) }),
  });
  expect(response.status).toBe(201);
  return ((await response.json()) as { poll: { id: string } }).poll.id;
}

/** The database's own view of one poll: applied votes per option, and the counts table. */
async function stored(pool: pg.Pool, pollId: string, options = 4) {
  const votes = await pool.query('select option, count(*)::int as n from poll_votes where poll_id = $1 and status = $2 group by option', [
    pollId,
    'applied',
  ]);
  const counts = await pool.query('select option, votes from poll_option_counts where poll_id = $1 order by option', [pollId]);
  const applied = Array.from({ length: options }, (_, o) => votes.rows.find((row) => row.option === o)?.n ?? 0);
  return { applied, counts: counts.rows.map((row) => row.votes as number) };
}

function perOption(options: number[], total = 4): number[] {
  return Array.from({ length: total }, (_, o) => options.filter((option) => option === o).length);
}

/** Runs `task` over `items` with `concurrency` in flight; `onDone` after each. */
async function pool<T>(items: T[], concurrency: number, task: (item: T, i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < items.length) {
        const i = next++;
        await task(items[i] as T, i);
      }
    }),
  );
}

describe.skipIf(!scaleUrls)('the vote path with real processes (scale shape)', () => {
  it('counts every 202 exactly once per option when one of two consumers is killed with SIGKILL mid-stream', async () => {
    const c = await cluster();
    await c.serve();
    const victim = await c.worker();
    const survivor = await c.worker();
    const voters = await createVoters(query(c.pool), 2000);
    const pollId = await createPoll(c.base, voters[0] as Voter);
    const accepted: number[] = [];
    const failures: string[] = [];
    let answered = 0;
    let victimPending = -1;
    redis ??= new Redis(scaleUrls?.redis ?? '');
    const stream = `${c.prefix}polls:votes`;
    await pool(voters, 32, async (voter, i) => {
      const option = i % 4;
      const response = await fetch(`${c.base}/api/v1/polls/${pollId}/votes`, {
        method: 'POST',
        headers: { ...bearer(voter.token), 'content-type': 'application/json' },
        body: JSON.stringify({ option }),
      });
      if (response.status === 202) accepted.push(option);
      else failures.push(`${response.status} ${await response.text()}`);
      answered += 1;
      if (answered === 700) {
        // Killed while it holds entries it has read and not acknowledged: mid-batch.
        const heldByVictim = async () => {
          const pending = (await redis?.call('XPENDING', stream, CONSUMER_GROUP)) as [number, string, string, [string, string][] | null];
          return Number(pending[3]?.find(([name]) => name === victim.consumer)?.[1] ?? 0);
        };
        // Frozen (SIGSTOP) while looking, so what it holds cannot change between the look and the kill.
        for (let tries = 0; tries < 500; tries += 1) {
          victim.child.kill('SIGSTOP');
          if ((await heldByVictim()) > 0) break;
          victim.child.kill('SIGCONT');
          await new Promise((resolve) => setTimeout(resolve, 5));
        }
        victim.child.kill('SIGKILL');
        await victim.exited;
        victimPending = await heldByVictim();
      }
    });
    expect(failures).toEqual([]);
    expect(accepted).toHaveLength(2000);
    // The survivor claims what the dead one held, and the counts catch up with the 202s.
    const expected = perOption(accepted);
    await eventually(async () => {
      const { applied, counts } = await stored(c.pool, pollId);
      return JSON.stringify(applied) === JSON.stringify(expected) && JSON.stringify(counts) === JSON.stringify(expected);
    }, 90_000);
    const pendingAfter = (await redis.call('XPENDING', stream, CONSUMER_GROUP)) as [number];
    expect(Number(pendingAfter[0])).toBe(0);
    expect(victimPending).toBeGreaterThan(0);
    expect(survivor.output()).toContain('claimed vote entries idle past the threshold');
    const results = (await (
      await fetch(`${c.base}/api/v1/polls/${pollId}/results`, { headers: bearer(voters[1]?.token ?? '') })
    ).json()) as { results: { total: number; pending: number; options: { votes: number }[] } };
    expect(results.results.pending).toBe(0);
    expect(results.results.options.map((item) => item.votes)).toEqual(expected);
    console.log(`kill -9 test: the killed consumer held ${victimPending} entries pending when it died`);
  }, 240_000);

  it('counts every accepted vote when the API process is killed and restarted mid-load; no 5xx', async () => {
    const c = await cluster();
    let server = await c.serve();
    await c.worker();
    const voters = await createVoters(query(c.pool), 600);
    const pollId = await createPoll(c.base, voters[0] as Voter);
    const accepted: number[] = [];
    const failures: string[] = [];
    let answered = 0;
    let restarting: Promise<void> | undefined;
    await pool(voters, 16, async (voter, i) => {
      const option = i % 4;
      let refusedBefore = false;
      for (let attempt = 0; ; attempt += 1) {
        let response: Response;
        try {
          response = await fetch(`${c.base}/api/v1/polls/${pollId}/votes`, {
            method: 'POST',
            headers: { ...bearer(voter.token), 'content-type': 'application/json' },
            body: JSON.stringify({ option }),
          });
        } catch (error) {
          // The process is gone (refused or reset connection): a client retries.
          if (attempt > 600) throw error;
          refusedBefore = true;
          await new Promise((resolve) => setTimeout(resolve, 100));
          continue;
        }
        const body = await response.text();
        if (response.status === 202) accepted.push(option);
        // The first attempt was appended but its answer was lost with the process: still one vote.
        else if (response.status === 409 && body.includes('ALREADY_VOTED') && refusedBefore) accepted.push(option);
        else failures.push(`${response.status} ${body}`);
        break;
      }
      answered += 1;
      if (answered === 200 && !restarting) {
        restarting = (async () => {
          server.child.kill('SIGKILL');
          await server.exited;
          server = await c.serve();
        })();
      }
    });
    await restarting;
    expect(failures).toEqual([]);
    expect(accepted).toHaveLength(600);
    const expected = perOption(accepted);
    await eventually(async () => {
      const { applied, counts } = await stored(c.pool, pollId);
      return JSON.stringify(applied) === JSON.stringify(expected) && JSON.stringify(counts) === JSON.stringify(expected);
    }, 90_000);
  }, 240_000);

  it('stops a consumer on SIGTERM mid-batch: exit 0, every entry it read applied and acknowledged', async () => {
    const c = await cluster();
    await c.serve();
    const voters = await createVoters(query(c.pool), 1500);
    const pollId = await createPoll(c.base, voters[0] as Voter);
    redis ??= new Redis(scaleUrls?.redis ?? '');
    const stream = `${c.prefix}polls:votes`;
    // A backlog before the consumer starts, so SIGTERM lands while it works through batches.
    const pipeline = redis.pipeline();
    voters.forEach((voter, i) => {
      pipeline.xadd(stream, '*', 'v', crypto.randomUUID(), 'p', pollId, 'u', voter.userId, 'o', i % 4, 'r', `req-${i}`, 't', Date.now());
    });
    await pipeline.exec();
    const worker = startCli(['worker'], { ...c.env, VOTE_BATCH_SIZE: '20' });
    running.push(worker);
    await waitFor(async () => (worker.output().includes('vote batch applied') ? true : undefined));
    worker.child.kill('SIGTERM');
    expect(await worker.exited).toBe(0);
    const pending = (await redis.call('XPENDING', stream, CONSUMER_GROUP)) as [number];
    expect(Number(pending[0])).toBe(0);
    const groups = (await redis.call('XINFO', 'GROUPS', stream)) as unknown[][];
    const group = groups[0] as unknown[];
    const entriesRead = Number(group[group.indexOf('entries-read') + 1]);
    const { applied } = await stored(c.pool, pollId);
    expect(applied.reduce((sum, n) => sum + n, 0)).toBe(entriesRead);
    console.log(`SIGTERM test: the consumer had read and applied ${entriesRead} of 1500 entries when it stopped`);
  }, 240_000);

  it('answers 503 UNAVAILABLE to a vote while Redis is unreachable, never a 202', async () => {
    const t = await startTestApp('scale', { env: { REDIS_URL: 'redis://127.0.0.1:1', VOTE_BLOCK_MS: '200' } });
    cleanups.push(() => t.close());
    const [owner, voter] = await createVoters(t.platform.db.query.bind(t.platform.db), 2);
    const created = await t.app.inject({
      method: 'POST',
      url: '/api/v1/polls',
      headers: bearer(owner?.token ?? ''),
      payload: { question: 'Up?', options: ['yes', 'no'] },
    });
    const pollId = created.json().poll.id;
    const response = await t.app.inject({
      method: 'POST',
      url: `/api/v1/polls/${pollId}/votes`,
      headers: bearer(voter?.token ?? ''),
      payload: { option: 0 },
    });
    expect([response.statusCode, response.json().error_code]).toEqual([503, 'UNAVAILABLE']);
    const results = await t.app.inject({ method: 'GET', url: `/api/v1/polls/${pollId}/results`, headers: bearer(voter?.token ?? '') });
    expect(results.json().results).toMatchObject({ total: 0, pending: null });
  });
});
