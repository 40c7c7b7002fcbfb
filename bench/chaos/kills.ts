// Scenarios where a process dies under load: a worker mid-job, a vote consumer mid-batch,
// an API process by SIGKILL (SIGTERM has sigterm.ts).
import { Redis } from 'ioredis';
import { CONSUMER_GROUP } from '../../src/modules/polls/redis-vote-log.ts';
import type { Cluster } from './cluster.ts';
import {
  accepted,
  type Check,
  type Context,
  count,
  documentsSettle,
  is2xx,
  report,
  type ScenarioResult,
  sleep,
  underLoad,
  VOTES,
  votesSettle,
} from './common.ts';

/**
 * Freezes a worker until `holds` says it holds work, then kills it with SIGKILL; returns
 * what it held. With `alone`, the other workers are paused meanwhile, so whatever is held
 * is the victim's (pg-boss does not record which worker holds a job).
 */
async function killHolding(cluster: Cluster, index: number, holds: () => Promise<number>, alone = false): Promise<number> {
  const worker = cluster.workers[index];
  if (!worker) throw new Error(`no worker ${index}`);
  const others = alone ? cluster.workers.filter((_, i) => i !== index) : [];
  cluster.expectExit(worker.process);
  for (const other of others) other.process.child.kill('SIGSTOP');
  let held = 0;
  try {
    for (let tries = 0; tries < 400; tries += 1) {
      worker.process.child.kill('SIGSTOP');
      held = await holds();
      if (held > 0) break;
      worker.process.child.kill('SIGCONT');
      await sleep(25);
    }
    worker.process.child.kill('SIGKILL');
    await worker.process.exited;
  } finally {
    for (const other of others) other.process.child.kill('SIGCONT');
  }
  return held;
}

export async function workerKill(context: Context): Promise<ScenarioResult> {
  const { cluster } = context;
  let held = 0;
  let killedAt = 0;
  const { traffic, events, seconds } = await underLoad(context, 'worker', async (at) => {
    held = await killHolding(
      cluster,
      0,
      async () => {
        const active = await cluster.pool.query(
          "select count(*)::int as n from pgboss.job where name = 'documents.parse' and state = 'active'",
        );
        return active.rows[0].n as number;
      },
      true,
    );
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
      pass:
        settled.last.jobsByState.completed === uploaded && Object.keys(settled.last.jobsByState).every((state) => state === 'completed'),
      detail: `parse jobs by state ${JSON.stringify(settled.last.jobsByState)}, retries ${settled.last.retries}`,
    },
    { name: 'the killed worker held parse jobs (killed mid-job)', pass: held > 0, detail: `${held} parse jobs active in it at the kill` },
    {
      name: 'the API answered 2xx throughout',
      pass: events.every(is2xx),
      detail: `${events.filter((event) => !is2xx(event)).length} not 2xx`,
    },
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
      {
        name: 'the API answered 2xx throughout',
        pass: events.every(is2xx),
        detail: `${events.filter((event) => !is2xx(event)).length} not 2xx`,
      },
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
  const { traffic, events, seconds } = await underLoad(context, 'api-kill', async (at, load) => {
    const victim = cluster.apis[1];
    if (!victim) throw new Error('no API 1');
    cluster.expectExit(victim.process);
    killedAt = at();
    victim.process.child.kill('SIGKILL');
    await victim.process.exited;
    // Long enough for every connection to it to fail; then the load on it pauses until it is back.
    await sleep(1000);
    load.stopTarget(1);
    await sleep(Math.max(0, killedAt + context.timing.fault * 1000 - at()));
    restartedAt = at();
    await cluster.startApi(1);
    readyAt = at();
    load.resumeTarget(1);
  });
  const survivor = events.filter((event) => event.target === 0);
  const victim = events.filter((event) => event.target === 1);
  const victimFailures = victim.filter((event) => !is2xx(event));
  const servedAgain = victim.find((event) => event.at > readyAt && is2xx(event));
  const after = await fetch(`${cluster.apis[1]?.url}/api/v1/auth/me`, {
    headers: { authorization: `Bearer ${context.seeded.owner.token}` },
  });
  const twoOhTwo = accepted(events, VOTES, 202);
  // Sent and cut off: a refused connection sent nothing.
  const lostAnswers = victim.filter((event) => event.route === VOTES && event.status === 0 && event.error !== 'ECONNREFUSED').length;
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
    {
      name: 'restarted, it serves again',
      pass: after.status === 200 && (servedAgain !== undefined || readyAt / 1000 > seconds - 1),
      detail: `${victim.filter((event) => event.at > readyAt && is2xx(event)).length} 2xx from it after the restart under the load; GET /auth/me after the load: ${after.status}`,
    },
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
    Math.round(readyAt - restartedAt),
    'restart command to the restarted process answering /health/live (the load on it resumes then)',
    { downMs: Math.round(restartedAt - killedAt), startupMs: Math.round(readyAt - restartedAt) },
  );
}
