// The six failure scenarios of issue 21, each under the mixed load on both API ports, each
// checking DESIGN.md's promise for it ("Shapes of failure") in the database afterwards.
import http from 'node:http';
import { Redis } from 'ioredis';
import { CONSUMER_GROUP } from '../../src/modules/polls/redis-vote-log.ts';
import { type LoadEvent, type RouteSummary, startLoad, summariseEvents } from '../mixed-load.ts';
import type { Cluster } from './cluster.ts';
import { type Seed, scenarioTraffic, storedDocuments, storedVotes } from './workload.ts';

export interface Timing {
  /** Seconds of load before the fault, of the fault, and after it. */
  before: number;
  fault: number;
  after: number;
  rate: number;
  connections: number;
}

export interface Check {
  name: string;
  pass: boolean;
  detail: string;
}

export interface ScenarioResult {
  scenario: string;
  promise: string;
  pass: boolean;
  checks: Check[];
  routes: RouteSummary[];
  /** Per target (API 0, API 1): answers by status class and transport errors. */
  targets: { target: number; ok: number; non2xx: Record<string, number>; transportErrors: Record<string, number> }[];
  recoveryMs: number | null;
  recoveryMeaning: string;
  p99Ms: number;
  seconds: number;
  figures: Record<string, unknown>;
}

interface Context {
  cluster: Cluster;
  seeded: Seed;
  timing: Timing;
}

const VOTES = 'POST /api/v1/polls/:id/votes';
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const is2xx = (event: LoadEvent) => event.status >= 200 && event.status < 300;

/** Polls `probe` until true or `timeoutMs`; returns ms taken, or null when it never held. */
async function timeUntil(probe: () => Promise<boolean>, timeoutMs: number): Promise<number | null> {
  const started = performance.now();
  while (performance.now() - started < timeoutMs) {
    if (await probe().catch(() => false)) return Math.round(performance.now() - started);
    await sleep(200);
  }
  return null;
}

function count<T>(items: T[], key: (item: T) => string): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const item of items) counts[key(item)] = (counts[key(item)] ?? 0) + 1;
  return counts;
}

/** Runs the scenario's load, calling `fault` after `before` seconds; returns the events and the load's start. */
async function underLoad(context: Context, label: string, fault: (at: () => number) => Promise<void>) {
  const { cluster, seeded, timing } = context;
  const seconds = timing.before + timing.fault + timing.after;
  const traffic = await scenarioTraffic(cluster.apis[0]?.url as string, seeded, label, Math.ceil(timing.rate * seconds * 0.5) + 100);
  const load = startLoad({
    targets: cluster.apis.map((api) => api.url),
    routes: traffic.routes,
    rate: timing.rate,
    seconds,
    connections: timing.connections,
    timeoutSeconds: 10,
  });
  const at = () => performance.now() - load.startedAt;
  await sleep(timing.before * 1000);
  const faultDone = fault(at);
  const events = await load.done;
  await faultDone;
  return { traffic, events, seconds };
}

function report(
  scenario: string,
  promise: string,
  events: LoadEvent[],
  seconds: number,
  checks: Check[],
  recoveryMs: number | null,
  recoveryMeaning: string,
  figures: Record<string, unknown>,
): ScenarioResult {
  const answered = events.filter((event) => event.status !== 0).map((event) => event.latencyMs);
  const sorted = answered.sort((a, b) => a - b);
  const targets = [0, 1].map((target) => {
    const mine = events.filter((event) => event.target === target);
    return {
      target,
      ok: mine.filter(is2xx).length,
      non2xx: count(
        mine.filter((event) => event.status !== 0 && !is2xx(event)),
        (event) => String(event.status),
      ),
      transportErrors: count(
        mine.filter((event) => event.status === 0),
        (event) => event.error ?? '?',
      ),
    };
  });
  return {
    scenario,
    promise,
    pass: checks.every((check) => check.pass),
    checks,
    routes: summariseEvents(events, seconds),
    targets,
    recoveryMs,
    recoveryMeaning,
    p99Ms: sorted[Math.max(0, Math.ceil(sorted.length * 0.99) - 1)] ?? 0,
    seconds,
    figures,
  };
}

/** Votes answered 202 must all be counted once the consumers catch up (bounded wait). */
async function votesSettle(cluster: Cluster, pollIds: string[], expected: (stored: { counted: number }) => boolean, timeoutMs = 120_000) {
  let last = { applied: 0, counted: 0 };
  const ms = await timeUntil(async () => {
    last = await storedVotes(cluster.pool, pollIds);
    return expected(last) && last.applied === last.counted;
  }, timeoutMs);
  return { ms, last };
}

async function documentsSettle(cluster: Cluster, projectId: string, timeoutMs: number) {
  let last = await storedDocuments(cluster.pool, projectId);
  const ms = await timeUntil(async () => {
    last = await storedDocuments(cluster.pool, projectId);
    return !last.byState.pending;
  }, timeoutMs);
  return { ms, last };
}

const accepted = (events: LoadEvent[], route: string, status: number) =>
  events.filter((event) => event.route === route && event.status === status).length;

export async function redisCut(context: Context): Promise<ScenarioResult> {
  const { cluster, timing } = context;
  let cutAt = 0;
  let restoredAt = 0;
  let readiness = '';
  const limiterStatuses: number[] = [];
  const { traffic, events, seconds } = await underLoad(context, 'redis', async (at) => {
    cutAt = at();
    await cluster.redisRelay.cut();
    await sleep(1000);
    const ready = await fetch(`${cluster.apis[0]?.url}/health/ready`);
    readiness = `${ready.status} ${await ready.text()}`;
    // The auth limiter (default 30 a minute per address) must still refuse with Redis away:
    // the in-memory insurance limiter. Bad passwords for an unknown email, from this process.
    for (let i = 0; i < 40 && !limiterStatuses.includes(429); i += 1) {
      const response = await fetch(`${cluster.apis[0]?.url}/api/v1/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email: `nobody-${i}@chaos.test`, password: 'wrong-password-123' }),
      });
      limiterStatuses.push(response.status);
    }
    await sleep(Math.max(0, cutAt + timing.fault * 1000 - at()));
    restoredAt = at();
    await cluster.redisRelay.restore();
  });
  const during = events.filter((event) => event.at >= cutAt && event.at <= restoredAt);
  const nonVotes = events.filter((event) => event.route !== VOTES);
  const votes = events.filter((event) => event.route === VOTES);
  const badVotes = votes.filter((event) => !is2xx(event) && event.status !== 503);
  const firstVoteAfter = votes.find((event) => event.at > restoredAt && event.status === 202);
  const settled = await votesSettle(cluster, traffic.pollIds, (stored) => stored.counted >= accepted(events, VOTES, 202));
  const twoOhTwo = accepted(events, VOTES, 202);
  const checks: Check[] = [
    {
      name: 'everything but votes answered 2xx throughout',
      pass: nonVotes.every(is2xx),
      detail: `${nonVotes.filter((event) => !is2xx(event)).length} of ${nonVotes.length} not 2xx (${JSON.stringify(count(nonVotes.filter((event) => !is2xx(event)), (event) => String(event.status || event.error)))})`,
    },
    {
      name: 'votes answered 202 or 503 UNAVAILABLE, nothing else',
      pass: badVotes.length === 0,
      detail: `${votes.filter((event) => event.status === 503).length} votes 503, ${badVotes.length} other failures`,
    },
    {
      name: 'votes answered 503 while Redis was away',
      pass: during.some((event) => event.route === VOTES && event.status === 503),
      detail: `${during.filter((event) => event.route === VOTES && event.status === 503).length} votes 503 during the cut`,
    },
    {
      name: 'the auth limiter still limits (in-memory insurance limiter)',
      pass: limiterStatuses.includes(429),
      detail: `${limiterStatuses.length} bad logins during the cut: ${JSON.stringify(count(limiterStatuses, String))}`,
    },
    { name: 'readiness reports redis: error', pass: /"redis":\{"status":"error"/.test(readiness), detail: readiness.slice(0, 300) },
    { name: 'votes accepted again after the restore', pass: Boolean(firstVoteAfter), detail: '' },
    {
      name: 'counts equal the 202s exactly',
      pass: settled.last.counted === twoOhTwo && settled.ms !== null,
      detail: `counted ${settled.last.counted}, applied rows ${settled.last.applied}, 202s ${twoOhTwo}`,
    },
    { name: 'no process exited', pass: cluster.unexpectedExits.length === 0, detail: cluster.unexpectedExits.join('; ') },
  ];
  return report(
    'redis',
    'Redis down: API keeps serving; rate limits fall back to the in-memory insurance limiter; readiness reports redis: error; votes answer 503 UNAVAILABLE rather than being accepted and lost.',
    events,
    seconds,
    checks,
    firstVoteAfter ? Math.round(firstVoteAfter.at - firstVoteAfter.latencyMs - restoredAt) : null,
    'restore to the first vote sent after it that was accepted',
    { cutMs: Math.round(restoredAt - cutAt), readiness: readiness.slice(0, 300), limiterStatuses: count(limiterStatuses, String) },
  );
}

export async function postgresCut(context: Context): Promise<ScenarioResult> {
  const { cluster, timing } = context;
  let cutAt = 0;
  let restoredAt = 0;
  let readiness = 0;
  const { traffic, events, seconds } = await underLoad(context, 'postgres', async (at) => {
    cutAt = at();
    await cluster.postgresRelay.cut();
    await sleep(1000);
    readiness = (await fetch(`${cluster.apis[1]?.url}/health/ready`)).status;
    await sleep(Math.max(0, cutAt + timing.fault * 1000 - at()));
    restoredAt = at();
    await cluster.postgresRelay.restore();
  });
  const failures = events.filter((event) => !is2xx(event));
  const not503 = failures.filter((event) => event.status !== 503);
  // Requests sent after the restore that still failed: the last one's answer marks recovery.
  const lateFailures = failures.filter((event) => event.at - event.latencyMs > restoredAt);
  const lastLate = lateFailures.at(-1);
  const recoveryMs = lastLate ? Math.round(lastLate.at - restoredAt) : 0;
  const uploads = await documentsSettle(cluster, traffic.projectId, 180_000);
  const settled = await votesSettle(cluster, traffic.pollIds, (stored) => stored.counted >= accepted(events, VOTES, 202));
  const twoOhTwo = accepted(events, VOTES, 202);
  const checks: Check[] = [
    {
      name: 'every failure was 503 UNAVAILABLE (no 500, no hung request, no reset)',
      pass: not503.length === 0,
      detail: `${failures.length} failures, ${not503.length} not 503: ${JSON.stringify(count(not503, (event) => `${event.route} ${event.status || event.error}`))}`,
    },
    { name: 'readiness 503 while down', pass: readiness === 503, detail: `readiness answered ${readiness}` },
    {
      name: 'back to 2xx within 3 s of the restore',
      pass: recoveryMs <= 3000,
      detail: `${lateFailures.length} requests sent after the restore failed; last answered ${recoveryMs} ms after it`,
    },
    { name: 'no process exited', pass: cluster.unexpectedExits.length === 0, detail: cluster.unexpectedExits.join('; ') },
    {
      name: 'every accepted upload parsed (ready)',
      pass: uploads.ms !== null && Object.keys(uploads.last.byState).every((state) => state === 'ready'),
      detail: JSON.stringify(uploads.last.byState),
    },
    {
      name: 'counts equal the 202s exactly',
      pass: settled.last.counted === twoOhTwo && settled.ms !== null,
      detail: `counted ${settled.last.counted}, 202s ${twoOhTwo}`,
    },
  ];
  return report(
    'postgres',
    'Database down: requests that need it get 503 UNAVAILABLE, the process stays up and recovers by itself; readiness 503.',
    events,
    seconds,
    checks,
    recoveryMs,
    'restore to the answer of the last failing request sent after it',
    { cutMs: Math.round(restoredAt - cutAt), failuresByRoute: count(failures, (event) => `${event.route} ${event.status || event.error}`) },
  );
}

/** Freezes a worker until `holds` says it holds work, then kills it with SIGKILL; returns what it held. */
async function killHolding(cluster: Cluster, index: number, holds: () => Promise<number>): Promise<number> {
  const worker = cluster.workers[index];
  if (!worker) throw new Error(`no worker ${index}`);
  cluster.expectExit(worker.process);
  let held = 0;
  for (let tries = 0; tries < 200; tries += 1) {
    worker.process.child.kill('SIGSTOP');
    held = await holds();
    if (held > 0) break;
    worker.process.child.kill('SIGCONT');
    await sleep(50);
  }
  worker.process.child.kill('SIGKILL');
  await worker.process.exited;
  return held;
}

export async function workerKill(context: Context): Promise<ScenarioResult> {
  const { cluster } = context;
  let held = 0;
  let killedAt = 0;
  const { traffic, events, seconds } = await underLoad(context, 'worker', async (at) => {
    held = await killHolding(cluster, 0, async () => {
      const active = await cluster.pool.query("select count(*)::int as n from pgboss.job where name = 'documents.parse' and state = 'active'");
      return active.rows[0].n as number;
    });
    killedAt = at();
    await cluster.startWorker(0);
  });
  const uploaded = accepted(events, 'POST /api/v1/projects/:id/documents', 202);
  // A job held by a dead worker comes back when pg-boss expires it (the parse job's expireInSeconds, 120 s).
  const settled = await documentsSettle(cluster, traffic.projectId, 400_000);
  const total = Object.values(settled.last.byState).reduce((sum, n) => sum + n, 0);
  const checks: Check[] = [
    {
      name: 'every upload ends ready',
      pass: settled.ms !== null && settled.last.byState.ready === uploaded && total === uploaded,
      detail: `${uploaded} uploads answered 202; documents by state ${JSON.stringify(settled.last.byState)}`,
    },
    {
      name: 'each parse job completed exactly once, none failed or lost',
      pass: settled.last.jobsByState.completed === uploaded && Object.keys(settled.last.jobsByState).every((state) => state === 'completed'),
      detail: `parse jobs by state ${JSON.stringify(settled.last.jobsByState)}, retries ${settled.last.retries}`,
    },
    { name: 'the API answered 2xx throughout', pass: events.every(is2xx), detail: `${events.filter((event) => !is2xx(event)).length} not 2xx` },
    { name: 'no other process exited', pass: cluster.unexpectedExits.length === 0, detail: cluster.unexpectedExits.join('; ') },
  ];
  return report(
    'worker-kill',
    'A worker killed mid-job: the job is retried with backoff and its effect happens once.',
    events,
    seconds,
    checks,
    settled.ms,
    'load end to every upload ready (jobs a dead worker held wait for pg-boss to expire them)',
    { activeParseJobsAtKill: held, killedAtMs: Math.round(killedAt), retries: settled.last.retries },
  );
}

export async function consumerKill(context: Context): Promise<ScenarioResult> {
  const { cluster } = context;
  let held = 0;
  const redis = new Redis(cluster.redisUrl);
  const stream = `${cluster.prefix}polls:votes`;
  try {
    const { traffic, events, seconds } = await underLoad(context, 'consumer', async () => {
      const consumer = cluster.workers[0]?.consumer;
      held = await killHolding(cluster, 0, async () => {
        const pending = (await redis.call('XPENDING', stream, CONSUMER_GROUP)) as [number, string, string, [string, string][] | null];
        return Number(pending[3]?.find(([name]) => name === consumer)?.[1] ?? 0);
      });
      await cluster.startWorker(0);
    });
    const twoOhTwo = accepted(events, VOTES, 202);
    const settled = await votesSettle(cluster, traffic.pollIds, (stored) => stored.counted >= twoOhTwo);
    const pending = (await redis.call('XPENDING', stream, CONSUMER_GROUP)) as [number];
    const checks: Check[] = [
      {
        name: 'final counts equal the accepted votes exactly',
        pass: settled.ms !== null && settled.last.counted === twoOhTwo && settled.last.applied === twoOhTwo,
        detail: `202s ${twoOhTwo}, counted ${settled.last.counted}, applied rows ${settled.last.applied}`,
      },
      { name: 'the killed consumer held entries (killed mid-batch)', pass: held > 0, detail: `${held} entries pending at the kill` },
      { name: 'nothing left pending', pass: Number(pending[0]) === 0, detail: `${pending[0]} pending` },
      { name: 'the API answered 2xx throughout', pass: events.every(is2xx), detail: `${events.filter((event) => !is2xx(event)).length} not 2xx` },
    ];
    return report(
      'consumer-kill',
      'A stream consumer killed: its pending votes are claimed by another consumer; no vote lost, none counted twice.',
      events,
      seconds,
      checks,
      settled.ms,
      'load end to counts equal to the 202s',
      { pendingAtKill: held },
    );
  } finally {
    redis.disconnect();
  }
}

export async function apiKill(context: Context): Promise<ScenarioResult> {
  const { cluster } = context;
  let killedAt = 0;
  let restartedAt = 0;
  let readyAt = 0;
  const { traffic, events, seconds } = await underLoad(context, 'api-kill', async (at) => {
    const victim = cluster.apis[1];
    if (!victim) throw new Error('no API 1');
    cluster.expectExit(victim.process);
    killedAt = at();
    victim.process.child.kill('SIGKILL');
    await victim.process.exited;
    await sleep(Math.max(0, killedAt + context.timing.fault * 1000 - at()));
    restartedAt = at();
    await cluster.startApi(1);
    readyAt = at();
  });
  const survivor = events.filter((event) => event.target === 0);
  const victim = events.filter((event) => event.target === 1);
  const victimFailures = victim.filter((event) => !is2xx(event));
  const servedAgain = victim.find((event) => event.at > restartedAt && is2xx(event));
  const after = await fetch(`${cluster.apis[1]?.url}/api/v1/auth/me`, { headers: { authorization: `Bearer ${context.seeded.owner.token}` } });
  const twoOhTwo = accepted(events, VOTES, 202);
  const lostAnswers = victim.filter((event) => event.route === VOTES && event.status === 0).length;
  const settled = await votesSettle(cluster, traffic.pollIds, (stored) => stored.counted >= twoOhTwo);
  const checks: Check[] = [
    {
      name: 'the other API answered 2xx throughout',
      pass: survivor.every(is2xx),
      detail: `${survivor.length} requests, ${survivor.filter((event) => !is2xx(event)).length} not 2xx`,
    },
    {
      name: 'only connections to the killed API failed, and only as transport errors',
      pass: victimFailures.every((event) => event.status === 0),
      detail: JSON.stringify(count(victimFailures, (event) => String(event.status || event.error))),
    },
    { name: 'restarted, it serves again', pass: after.status === 200, detail: `GET /auth/me after the restart: ${after.status}` },
    {
      name: 'every 202 counted; at most the unanswered votes counted beyond them',
      pass: settled.last.counted >= twoOhTwo && settled.last.counted <= twoOhTwo + lostAnswers,
      detail: `202s ${twoOhTwo}, counted ${settled.last.counted}, votes cut off without an answer ${lostAnswers}`,
    },
  ];
  return report(
    'api-kill',
    'kill -9 of one API process: only the connections to it fail; the other keeps serving; restarted, it serves again.',
    events,
    seconds,
    checks,
    servedAgain ? Math.round(servedAgain.at - restartedAt) : Math.round(readyAt - restartedAt),
    'restart command to the first 2xx from the restarted process',
    { downMs: Math.round(restartedAt - killedAt), startupMs: Math.round(readyAt - restartedAt) },
  );
}

/**
 * A client that honours Connection: close (Node's keep-alive agent), looping on one API
 * while it shuts down: every answer's Connection header and every transport error.
 */
function closeProbe(url: string, token: string) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });
  const seen = { answers: 0, close: 0, errors: {} as Record<string, number> };
  let running = true;
  const { hostname, port } = new URL(url);
  const once = () =>
    new Promise<void>((resolve) => {
      const request = http.request({ agent, hostname, port, path: '/api/v1/auth/me', headers: { authorization: `Bearer ${token}` } }, (response) => {
        seen.answers += 1;
        if (response.headers.connection === 'close') seen.close += 1;
        response.resume();
        response.on('end', resolve);
      });
      request.on('error', (error: NodeJS.ErrnoException) => {
        seen.errors[error.code ?? error.message] = (seen.errors[error.code ?? error.message] ?? 0) + 1;
        resolve();
      });
      request.end();
    });
  const loops = Array.from({ length: 4 }, async () => {
    while (running) {
      await once();
      await sleep(20);
    }
  });
  return {
    seen,
    async stop() {
      running = false;
      await Promise.all(loops);
      agent.destroy();
    },
  };
}

export async function apiSigterm(context: Context): Promise<ScenarioResult> {
  const { cluster } = context;
  let signalledAt = 0;
  let exitedAt = 0;
  let exitCode: number | null = null;
  let probe: ReturnType<typeof closeProbe> | undefined;
  const { traffic, events, seconds } = await underLoad(context, 'sigterm', async (at) => {
    const victim = cluster.apis[1];
    if (!victim) throw new Error('no API 1');
    probe = closeProbe(victim.url, context.seeded.owner.token);
    await sleep(500);
    cluster.expectExit(victim.process);
    signalledAt = at();
    victim.process.child.kill('SIGTERM');
    exitCode = await victim.process.exited;
    exitedAt = at();
    await probe.stop();
  });
  const seen = probe?.seen ?? { answers: 0, close: 0, errors: {} };
  const victim = events.filter((event) => event.target === 1);
  // After the listener closes, new connections are refused: that is not an in-flight request.
  const inFlightFailures = victim.filter((event) => !is2xx(event) && event.error !== 'ECONNREFUSED');
  const probeFailures = Object.entries(seen.errors).filter(([code]) => code !== 'ECONNREFUSED');
  const twoOhTwo = accepted(events, VOTES, 202);
  const settled = await votesSettle(cluster, traffic.pollIds, (stored) => stored.counted >= twoOhTwo);
  await cluster.startApi(1);
  const checks: Check[] = [
    { name: 'exit code 0', pass: exitCode === 0, detail: `exit ${exitCode}, ${Math.round(exitedAt - signalledAt)} ms after SIGTERM` },
    {
      name: 'load generator: 0 failed in-flight requests (refused new connections aside)',
      pass: inFlightFailures.length === 0,
      detail: JSON.stringify(count(inFlightFailures, (event) => `${event.route} ${event.status || event.error}`)),
    },
    {
      name: 'a Connection-honouring client saw Connection: close and no reset',
      pass: seen.close > 0 && probeFailures.length === 0,
      detail: `${seen.answers} answers, ${seen.close} with Connection: close, errors ${JSON.stringify(seen.errors)}`,
    },
    {
      name: 'the other API answered 2xx throughout',
      pass: events.filter((event) => event.target === 0).every(is2xx),
      detail: `${events.filter((event) => event.target === 0 && !is2xx(event)).length} not 2xx`,
    },
    {
      name: 'counts equal the 202s exactly',
      pass: settled.last.counted === twoOhTwo,
      detail: `202s ${twoOhTwo}, counted ${settled.last.counted}`,
    },
  ];
  return report(
    'sigterm',
    'SIGTERM: stop accepting, finish in-flight requests (0 failed, Connection: close rather than resets), exit 0 within the grace period.',
    events,
    seconds,
    checks,
    Math.round(exitedAt - signalledAt),
    'SIGTERM to exit',
    { probe: seen, refusedAfterClose: victim.filter((event) => event.error === 'ECONNREFUSED').length },
  );
}

export const scenarios: Record<string, (context: Context) => Promise<ScenarioResult>> = {
  redis: redisCut,
  postgres: postgresCut,
  'worker-kill': workerKill,
  'consumer-kill': consumerKill,
  'api-kill': apiKill,
  sigterm: apiSigterm,
};
