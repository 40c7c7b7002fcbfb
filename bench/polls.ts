// Votes through the stream (issue 15), scale shape on the local Postgres + Redis: a real
// `rampart serve` (API only) and a real `rampart worker` (the consumer); a keep-alive load generator sends
// votes from 1,000 accounts across 200 polls for 20 s as fast as the machine takes them.
// Reported: votes/s accepted, API p99, consumer apply rate, consumer lag (max, at the end,
// time back to 0), freshness (202 to visible in results) p50/p95/p99, counts == 202s, and
// a bare XADD loop from Node to the same Redis as the baseline of the same run.
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import pg from 'pg';
import { freePort } from '../test/helpers/processes.ts';
import { deleteKeysUnder } from '../test/helpers/redis-keys.ts';
import { createTestDatabase, scaleUrls } from '../test/helpers/shapes.ts';
import { createVoters, type Voter } from '../test/helpers/voters.ts';
import { keepAliveLoad } from './keep-alive-load.ts';
import { type BenchSection, processCpuSeconds, summarise } from './lib.ts';

const ACCOUNTS = 1_000;
const POLLS = 200;
const CONNECTIONS = 64;
const TARGET_RATE = 5_000;
const TARGET_DRAIN_MS = 2_000;
const TARGET_FRESHNESS_P95_MS = 1_000;

// POLLS_BENCH_CPU_PROF=<dir>: the API and the worker write V8 CPU profiles there on exit
// (how the per-vote breakdown in the README was found; NODE_OPTIONS refuses --cpu-prof).
const profileDir = process.env.POLLS_BENCH_CPU_PROF;

function start(role: string, env: Record<string, string>): ChildProcess {
  const profile = profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`, `--cpu-prof-name=${role}.cpuprofile`] : [];
  return spawn(process.execPath, [...profile, join(import.meta.dirname, '../src/cli.ts'), role], {
    stdio: ['ignore', 'ignore', 'inherit'],
    env: { ...process.env, ...env },
  });
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}

async function post(url: string, token: string, body: unknown): Promise<Response> {
  return fetch(url, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
}

/** The bare baseline: XADD of a vote-sized entry from N concurrent loops, no API, no Lua. */
async function bareXadd(redisUrl: string, key: string, seconds: number): Promise<number> {
  const redis = new Redis(redisUrl);
  let sent = 0;
  const until = Date.now() + seconds * 1000;
  await Promise.all(
    Array.from({ length: CONNECTIONS }, async () => {
      while (Date.now() < until) {
        await redis.xadd(
          key,
          'MAXLEN',
          '~',
          '1000000',
          '*',
          'v',
          randomUUID(),
          'p',
          randomUUID(),
          'u',
          randomUUID(),
          'o',
          '1',
          'r',
          'bench',
          't',
          Date.now(),
        );
        sent += 1;
      }
    }),
  );
  await redis.del(key);
  redis.disconnect();
  return Math.round(sent / seconds);
}

/** CPU seconds (user + system) used so far by each process whose command line matches, by label. */
function cpuByProcess(labels: Record<string, (cmdline: string, pid: number) => boolean>): Record<string, number> {
  const totals: Record<string, number> = Object.fromEntries(Object.keys(labels).map((label) => [label, 0]));
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8').replaceAll('\0', ' ');
      const label = Object.keys(labels).find((name) => labels[name]?.(cmdline, Number(entry)));
      if (!label) continue;
      totals[label] = (totals[label] ?? 0) + processCpuSeconds(Number(entry));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT' && (error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
    }
  }
  return totals;
}

/** CPU seconds of the whole machine so far: busy (every process, other people's too), stolen by the hypervisor, total. */
function machineCpu(): { busy: number; steal: number; total: number } {
  // user nice system idle iowait irq softirq steal (guest time is already inside user)
  const fields = (readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '').trim().split(/\s+/).slice(1, 9).map(Number);
  const total = fields.reduce((sum, n) => sum + n, 0) / 100;
  const idle = ((fields[3] ?? 0) + (fields[4] ?? 0)) / 100;
  const steal = (fields[7] ?? 0) / 100;
  return { busy: total - idle - steal, steal, total };
}

/** Entries not yet applied: unread by the group plus read and not acknowledged. */
async function lag(redis: Redis, stream: string): Promise<number> {
  const groups = (await redis.call('XINFO', 'GROUPS', stream)) as unknown[][];
  const group = groups[0] ?? [];
  const unread = Number(group[group.indexOf('lag') + 1] ?? 0);
  const pending = Number(group[group.indexOf('pending') + 1] ?? 0);
  return unread + pending;
}

/** One vote every 100 ms in its own poll, then results read until they show it: 202 to visible. */
function freshnessProbe(url: string, voters: Voter[], pollId: string, reader: string): { stop(): Promise<number[]> } {
  const samples: number[] = [];
  let running = true;
  // Kept, and thrown by stop(): unhandled, a failed request here (the API gone) would end the
  // process before the error that stopped the API is printed.
  let failure: unknown;
  const loop = (async () => {
    let expected = 0;
    for (const voter of voters) {
      if (!running) break;
      const response = await post(`${url}/api/v1/polls/${pollId}/votes`, voter.token, { option: 0 });
      if (response.status !== 202) continue;
      const accepted = performance.now();
      expected += 1;
      // A vote that never shows is a bug the bench must not hang on: it counts as 30 s.
      for (const deadline = accepted + 30_000; performance.now() < deadline; ) {
        const results = (await (
          await fetch(`${url}/api/v1/polls/${pollId}/results`, { headers: { authorization: `Bearer ${reader}` } })
        ).json()) as {
          results: { total: number };
        };
        if (results.results.total >= expected) break;
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      samples.push(performance.now() - accepted);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  })().catch((error: unknown) => {
    failure = error;
  });
  return {
    async stop() {
      running = false;
      await loop;
      if (failure !== undefined) throw failure;
      return samples;
    },
  };
}

export async function benchPolls(seconds = 20): Promise<BenchSection[]> {
  if (!scaleUrls) {
    return [
      {
        name: 'Votes through the stream (scale shape)',
        table: { columns: ['measure', 'value'], rows: [] },
        notes: ['not measured: set TEST_DATABASE_URL and TEST_REDIS_URL (the polls bench runs the scale shape)'],
        data: {},
      },
    ];
  }
  const database = await createTestDatabase();
  const prefix = `benchpolls${Date.now()}:`;
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const env = {
    DATABASE_URL: database.url,
    REDIS_URL: scaleUrls.redis,
    REDIS_KEY_PREFIX: prefix,
    NODE_ENV: 'production',
    LOG_LEVEL: 'warn',
    PORT: String(port),
    IN_PROCESS_WORKER: 'false',
    // This bench's load comes from one address and each account votes in many polls.
    API_RATE_LIMIT_PER_MINUTE: '1000000',
    WRITE_RATE_LIMIT_PER_MINUTE: '1000000',
    VOTE_RATE_LIMIT_PER_MINUTE: '1000000',
  };
  const server = start('serve', env);
  let probe: ReturnType<typeof freshnessProbe> | undefined;
  const children: ChildProcess[] = [server];
  const pool = new pg.Pool({ connectionString: database.url, max: 2 });
  const redis = new Redis(scaleUrls.redis);
  const stream = `${prefix}polls:votes`;
  try {
    for (let attempt = 0; attempt < 600; attempt += 1) {
      const live = await fetch(`${url}/health/live`).catch(() => undefined);
      if (live?.ok) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    children.push(start('worker', env));
    const query = async (text: string, params?: unknown[]) => (await pool.query(text, params)).rows;
    const voters = await createVoters(query, ACCOUNTS, 'bench');
    const probers = await createVoters(query, 400, 'probe');
    const owner = voters[0] as Voter;
    const pollIds: string[] = [];
    for (let i = 0; i <= POLLS; i += 1) {
      const response = await post(`${url}/api/v1/polls`, owner.token, { question: `Bench poll ${i}`, options: ['a', 'b', 'c', 'd'] });
      pollIds.push(((await response.json()) as { poll: { id: string } }).poll.id);
    }
    const probePoll = pollIds.pop() as string;
    // The consumer group exists once the worker's consumer has started.
    for (let attempt = 0; attempt < 600 && !(await redis.exists(stream)); attempt += 1)
      await new Promise((resolve) => setTimeout(resolve, 100));

    const baselineRate = await bareXadd(scaleUrls.redis, `${prefix}bare`, 5);
    // A second baseline: the same server answering an authenticated read (session lookup, rate limits), no vote.
    const reads = await keepAliveLoad(url, { seconds: 5, connections: CONNECTIONS, expected: 200 }, (k) => ({
      method: 'GET',
      path: '/api/v1/auth/me',
      token: (voters[k % ACCOUNTS] as Voter).token,
    }));
    const readRate = Math.round(reads.accepted / 5);

    // Vote k is account k mod 1,000 in poll floor(k / 1,000): every (account, poll) pair once.
    const bodies = ['{"option":0}', '{"option":1}', '{"option":2}', '{"option":3}'];
    const lagSamples: number[] = [];
    const sampler = setInterval(() => {
      lag(redis, stream)
        .then((value) => lagSamples.push(value))
        .catch((error: unknown) => console.warn(`bench: a lag sample failed: ${String(error)}`));
    }, 250);
    probe = freshnessProbe(url, probers, probePoll, owner.token);
    const loadStart = performance.now();
    const labels: Record<string, (cmdline: string, pid: number) => boolean> = {
      'rampart serve (API)': (_cmdline, pid) => pid === server.pid,
      'rampart worker (consumer)': (_cmdline, pid) => pid === children[1]?.pid,
      'load generator (this process)': (_cmdline, pid) => pid === process.pid,
      'redis (shared server)': (cmdline) => cmdline.startsWith('redis-server'),
      'postgres (shared server, every backend)': (cmdline) => cmdline.startsWith('postgres') || cmdline.includes('/bin/postgres'),
    };
    const cpuBefore = cpuByProcess(labels);
    const machineBefore = machineCpu();
    const load = await keepAliveLoad(url, { seconds, connections: CONNECTIONS, expected: 202 }, (k) => ({
      method: 'POST',
      path: `/api/v1/polls/${pollIds[Math.floor(k / ACCOUNTS) % POLLS]}/votes`,
      token: (voters[k % ACCOUNTS] as Voter).token,
      body: bodies[k % 4] as string,
    }));
    // Not push(...): a spread of 115,000 arguments overflows the stack (this bench's own crash on a fast run).
    const latencies = load.latencies;
    const loadEnd = performance.now();
    const cpuAfter = cpuByProcess(labels);
    const machineAfter = machineCpu();
    const loadSeconds = (loadEnd - loadStart) / 1000;
    const cores = (name: string) => ((cpuAfter[name] ?? 0) - (cpuBefore[name] ?? 0)) / loadSeconds;
    const ours = Object.keys(labels).reduce((sum, name) => sum + cores(name), 0);
    const machineBusy = (machineAfter.busy - machineBefore.busy) / loadSeconds;
    const machineCores = (machineAfter.total - machineBefore.total) / loadSeconds;
    const stolen = (machineAfter.steal - machineBefore.steal) / loadSeconds;
    const freshness = await probe.stop();
    probe = undefined;
    const lagAtEnd = await lag(redis, stream);
    let drainedAt = performance.now();
    for (let attempt = 0; attempt < 600; attempt += 1) {
      if ((await lag(redis, stream)) === 0) break;
      await new Promise((resolve) => setTimeout(resolve, 20));
      drainedAt = performance.now();
    }
    clearInterval(sampler);
    const drainMs = Math.round(drainedAt - loadEnd);
    const accepted = load.accepted;
    const errors = load.errors;
    const [counted] = (await query('select coalesce(sum(votes), 0)::int as n from poll_option_counts where poll_id = any($1::uuid[])', [
      pollIds,
    ])) as { n: number }[];
    const [applied] = (await query(
      'select count(*)::int as n, extract(epoch from max(applied_at) - min(applied_at)) as s from poll_votes where poll_id = any($1::uuid[])',
      [pollIds],
    )) as { n: number; s: number }[];
    const api = summarise(latencies);
    const fresh = summarise(freshness);
    const acceptedRate = Math.round(accepted / ((loadEnd - loadStart) / 1000));
    const applyRate = Math.round((applied?.n ?? 0) / Math.max(0.001, Number(applied?.s ?? 0)));
    const verdicts = [
      [`votes accepted >= ${TARGET_RATE}/s with 0 errors`, acceptedRate >= TARGET_RATE && errors === 0],
      [`consumer lag back to 0 within ${TARGET_DRAIN_MS} ms after the load`, drainMs <= TARGET_DRAIN_MS],
      [`freshness p95 < ${TARGET_FRESHNESS_P95_MS} ms`, fresh.p95 < TARGET_FRESHNESS_P95_MS],
      ['counts at the end == 202s', counted?.n === accepted],
    ] as const;
    return [
      {
        name: `Votes through the stream: ${ACCOUNTS} accounts, ${POLLS} polls, ${seconds} s at full rate (scale shape)`,
        table: {
          columns: ['measure', 'value'],
          rows: [
            ['votes accepted (202)', accepted],
            ['votes accepted / s', acceptedRate],
            ['errors (non-202, socket errors, timeouts)', errors],
            ['API p50 / p95 / p99 ms', `${api.p50} / ${api.p95} / ${api.p99}`],
            ['consumer apply rate (votes / s)', applyRate],
            ['consumer lag max / at load end (entries)', `${Math.max(0, ...lagSamples, lagAtEnd)} / ${lagAtEnd}`],
            ['lag back to 0 after the load (ms)', drainMs],
            [`freshness p50 / p95 / p99 ms (${fresh.n} probes)`, `${fresh.p50} / ${fresh.p95} / ${fresh.p99}`],
            ['counts at the end / 202s', `${counted?.n} / ${accepted}`],
            ...Object.keys(labels).map((name) => [`CPU during the load: ${name} (cores)`, cores(name).toFixed(2)]),
            ['CPU during the load: everything else on the machine (cores)', Math.max(0, machineBusy - ours).toFixed(2)],
            ['CPU during the load: stolen by the hypervisor (cores)', stolen.toFixed(2)],
            ['CPU during the load: machine busy / available (cores)', `${machineBusy.toFixed(2)} / ${machineCores.toFixed(2)}`],
            ['baseline: bare XADD loop from Node (ops / s)', baselineRate],
            ['baseline: GET /api/v1/auth/me on the same server (req / s)', readRate],
          ],
        },
        notes: [
          ...verdicts.map(([name, pass]) => `${name}: ${pass ? 'PASS' : 'FAIL'}`),
          `polls targets: ${verdicts.every(([, pass]) => pass) ? 'PASS' : 'FAIL'}`,
          `votes/s accepted = ${((acceptedRate / baselineRate) * 100).toFixed(0)} % of the bare XADD baseline, ${((acceptedRate / readRate) * 100).toFixed(0)} % of the authenticated read's rate`,
          `one \`rampart serve\` (API only) and one \`rampart worker\`, NODE_ENV=production, LOG_LEVEL=warn; the load generator (${CONNECTIONS} keep-alive connections, in the bench process), Postgres and Redis share the 2 cores`,
        ],
        data: {
          accepted,
          acceptedRate,
          errors,
          api,
          applyRate,
          lagSamples,
          lagAtEnd,
          drainMs,
          freshness: fresh,
          counted: counted?.n,
          baselineRate,
          verdicts,
        },
      },
    ];
  } finally {
    // A failure mid-load leaves the probe running: stopped first, or its next request to the
    // stopped API would end the process with an unhandled rejection and hide the failure.
    await probe?.stop().catch(() => []);
    for (const child of children) await stop(child);
    // The run's keys (a dedupe key per vote, the stream) go with it: left behind, they made the
    // shared Redis larger run after run, and every SCAN of it (the alert evaluator's) slower.
    await deleteKeysUnder(redis, prefix);
    redis.disconnect();
    await pool.end();
    await database.drop();
  }
}
