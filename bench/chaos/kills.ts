// Scenarios where a process dies or is stopped under load: a worker mid-job, a vote
// consumer mid-batch, an API process by SIGKILL, an API process by SIGTERM.
import http from 'node:http';
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
      const request = http.request(
        { agent, hostname, port, path: '/api/v1/auth/me', headers: { authorization: `Bearer ${token}` } },
        (response) => {
          seen.answers += 1;
          if (response.headers.connection === 'close') seen.close += 1;
          response.resume();
          response.on('end', resolve);
        },
      );
      request.on('error', (error: NodeJS.ErrnoException) => {
        // Node marks a request sent on a kept-alive socket: a reset there is the server closing
        // that socket as idle while the request was on its way, before it could read it.
        const key = `${error.code ?? error.message}${request.reusedSocket ? ' on a reused idle connection' : ''}`;
        seen.errors[key] = (seen.errors[key] ?? 0) + 1;
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

/** POST /projects whose body is sent only when `finish` is called. */
function heldRequest(url: string, token: string) {
  const body = JSON.stringify({ name: 'in flight at SIGTERM' });
  const { hostname, port } = new URL(url);
  const request = http.request({
    hostname,
    port,
    method: 'POST',
    path: '/api/v1/projects',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
  });
  const answer = new Promise<{ status: number; connection: string | undefined; error?: string }>((resolve) => {
    request.on('response', (response) => {
      response.resume();
      response.on('end', () => resolve({ status: response.statusCode ?? 0, connection: response.headers.connection }));
    });
    request.on('error', (error: NodeJS.ErrnoException) =>
      resolve({ status: 0, connection: undefined, error: error.code ?? error.message }),
    );
  });
  request.flushHeaders();
  request.write(body.slice(0, 5));
  return { answer, finish: () => request.end(body.slice(5)) };
}

export async function apiSigterm(context: Context): Promise<ScenarioResult> {
  const { cluster } = context;
  let signalledAt = 0;
  let exitedAt = 0;
  let exitCode: number | null = null;
  let probe: ReturnType<typeof closeProbe> | undefined;
  let held: Promise<{ status: number; connection: string | undefined; error?: string }> | undefined;
  const { traffic, events, seconds } = await underLoad(context, 'sigterm', async (at, load) => {
    const victim = cluster.apis[1];
    if (!victim) throw new Error('no API 1');
    probe = closeProbe(victim.url, context.seeded.owner.token);
    // A request surely in flight at the signal: its headers are in, its body still coming.
    const request = heldRequest(victim.url, context.seeded.owner.token);
    held = request.answer;
    await sleep(500);
    cluster.expectExit(victim.process);
    signalledAt = at();
    victim.process.child.kill('SIGTERM');
    await sleep(300);
    request.finish();
    exitCode = await victim.process.exited;
    exitedAt = at();
    load.stopTarget(1);
    await probe.stop();
  });
  const heldAnswer = (await held) ?? { status: 0, connection: undefined };
  const seen = probe?.seen ?? { answers: 0, close: 0, errors: {} };
  const victim = events.filter((event) => event.target === 1);
  // After the listener closes, new connections are refused: that is not an in-flight request.
  // Node destroys only connections with no request being processed (closeIdleConnections),
  // so a reset is a request the server had not read yet: the kept-alive idle-close race.
  const inFlightFailures = victim.filter((event) => !is2xx(event) && event.error !== 'ECONNREFUSED' && event.error !== 'ECONNRESET');
  const loadResets = victim.filter((event) => event.error === 'ECONNRESET').length;
  const probeResets = Object.entries(seen.errors).filter(([code]) => code !== 'ECONNREFUSED');
  const twoOhTwo = accepted(events, VOTES, 202);
  const settled = await votesSettle(cluster, traffic.pollIds, (stored) => stored.counted >= twoOhTwo);
  await cluster.startApi(1);
  const checks: Check[] = [
    { name: 'exit code 0', pass: exitCode === 0, detail: `exit ${exitCode}, ${Math.round(exitedAt - signalledAt)} ms after SIGTERM` },
    {
      name: 'load generator: 0 failed in-flight requests (no 5xx, no timeout; refused new connections aside)',
      pass: inFlightFailures.length === 0,
      detail: JSON.stringify(count(inFlightFailures, (event) => `${event.route} ${event.status || event.error}`)),
    },
    {
      name: 'a request in flight at the signal is answered, with Connection: close',
      pass: heldAnswer.status === 201 && heldAnswer.connection === 'close',
      detail: `answered ${heldAnswer.status || heldAnswer.error}, Connection: ${heldAnswer.connection}`,
    },
    {
      name: 'no reset at all (requests the closing server never read: on idle kept-alive connections, or queued in its listen backlog)',
      pass: probeResets.length === 0 && loadResets === 0,
      // Known race (see the README's Operations): reported on every run, not gating until the server drains idle connections.
      gating: false,
      detail: `Connection-honouring client: ${seen.answers} answers, ${seen.close} with Connection: close, errors ${JSON.stringify(seen.errors)}; load generator: ${loadResets} ECONNRESET`,
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
