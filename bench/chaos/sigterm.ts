// Scenario `sigterm`: SIGTERM to one API process under load, behind a modelled load balancer.
// The API drains (SHUTDOWN_DRAIN_MS): still serving, /health/ready 503, every answer closing
// its connection. The balancer health-checks it every 200 ms and takes it out of rotation on
// the first 503, as an ingress or kube-proxy does with a terminating pod; then the API closes.
import http from 'node:http';
import {
  accepted,
  type Check,
  type Context,
  count,
  is2xx,
  report,
  type ScenarioResult,
  sleep,
  underLoad,
  VOTES,
  votesSettle,
} from './common.ts';

const HEALTH_CHECK_INTERVAL_MS = 200;

/**
 * A client that honours Connection: close (Node's keep-alive agent), looping on one API
 * until the balancer moves it away: every answer's Connection header and every transport error.
 * The server's drain begins when it handles the signal, which the client cannot see: an answer
 * whose headers left before that has no Connection: close. So the check counts the requests sent
 * after the first answer that had it (the drain visibly begun): each of their answers must have it.
 */
function closeProbe(url: string, token: string) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });
  const seen = { answers: 0, sentAfterDrainBegan: 0, closeAfterDrainBegan: 0, errors: {} as Record<string, number> };
  let running = true;
  let signalled = false;
  let drainSeen = false;
  const { hostname, port } = new URL(url);
  const once = () =>
    new Promise<void>((resolve) => {
      const sentAfterDrainBegan = drainSeen;
      const request = http.request(
        { agent, hostname, port, path: '/api/v1/auth/me', headers: { authorization: `Bearer ${token}` } },
        (response) => {
          seen.answers += 1;
          const closes = response.headers.connection === 'close';
          if (signalled && closes) drainSeen = true;
          if (sentAfterDrainBegan) {
            seen.sentAfterDrainBegan += 1;
            if (closes) seen.closeAfterDrainBegan += 1;
          }
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
    signalled: () => {
      signalled = true;
    },
    /** Sends nothing more and waits for the answers in flight, as a balancer's client would. */
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

/** The balancer's health check: resolves at the first answer from `url` that is not 200. */
async function untilNotReady(url: string): Promise<number> {
  for (;;) {
    const status = await fetch(`${url}/health/ready`).then(
      (response) => response.status,
      () => 0,
    );
    if (status !== 200) return status;
    await sleep(HEALTH_CHECK_INTERVAL_MS);
  }
}

export async function apiSigterm(context: Context): Promise<ScenarioResult> {
  const { cluster } = context;
  let signalledAt = 0;
  let removedAt = 0;
  let removedOn = 0;
  let exitedAt = 0;
  let exitCode: number | null = null;
  let probe: ReturnType<typeof closeProbe> | undefined;
  let held: Promise<{ status: number; connection: string | undefined; error?: string }> | undefined;
  let unansweredVotes = 0;
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
    probe.signalled();
    victim.process.child.kill('SIGTERM');
    await sleep(300);
    request.finish();
    removedOn = await untilNotReady(victim.url);
    removedAt = at();
    // Out of rotation: the load generator's requests still on their way are dropped by it
    // (counted below); the probe finishes its own.
    load.stopTarget(1);
    const answered = load.events.filter((event) => event.target === 1 && event.route === VOTES).length;
    unansweredVotes = Math.max(0, (load.built[`1 ${VOTES}`] ?? 0) - answered);
    await probe.stop();
    exitCode = await victim.process.exited;
    exitedAt = at();
  });
  const heldAnswer = (await held) ?? { status: 0, connection: undefined };
  const seen = probe?.seen ?? { answers: 0, sentAfterDrainBegan: 0, closeAfterDrainBegan: 0, errors: {} };
  const victim = events.filter((event) => event.target === 1);
  const victimFailures = victim.filter((event) => !is2xx(event));
  const twoOhTwo = accepted(events, VOTES, 202);
  const settled = await votesSettle(cluster, traffic.pollIds, (stored) => stored.counted >= twoOhTwo);
  await cluster.startApi(1);
  const checks: Check[] = [
    { name: 'exit code 0', pass: exitCode === 0, detail: `exit ${exitCode}, ${Math.round(exitedAt - signalledAt)} ms after SIGTERM` },
    {
      name: 'readiness 503 from the signal on: the balancer took the API out before it closed',
      pass: removedOn === 503 && removedAt < exitedAt,
      detail: `first non-200 readiness answer ${removedOn || 'none (connection failed)'}, ${Math.round(removedAt - signalledAt)} ms after SIGTERM (health check every ${HEALTH_CHECK_INTERVAL_MS} ms)`,
    },
    {
      name: 'load generator: every request to the stopping API answered 2xx (no 5xx, no timeout, no reset, no refusal)',
      pass: victimFailures.length === 0,
      detail: `${victim.length} answered; failures ${JSON.stringify(count(victimFailures, (event) => `${event.route} ${event.status || event.error}`))}`,
    },
    {
      name: 'a request in flight at the signal is answered, with Connection: close',
      pass: heldAnswer.status === 201 && heldAnswer.connection === 'close',
      detail: `answered ${heldAnswer.status || heldAnswer.error}, Connection: ${heldAnswer.connection}`,
    },
    {
      name: 'a Connection-honouring client: once the drain shows, every answer says Connection: close; no reset',
      pass: seen.sentAfterDrainBegan > 0 && seen.closeAfterDrainBegan === seen.sentAfterDrainBegan && Object.keys(seen.errors).length === 0,
      detail: `${seen.sentAfterDrainBegan} requests sent after the first Connection: close, ${seen.closeAfterDrainBegan} answered with it; errors ${JSON.stringify(seen.errors)}`,
    },
    {
      name: 'the other API answered 2xx throughout',
      pass: events.filter((event) => event.target === 0).every(is2xx),
      detail: `${events.filter((event) => event.target === 0 && !is2xx(event)).length} not 2xx`,
    },
    {
      name: 'every 202 counted; at most the votes the load generator dropped unanswered counted beyond them',
      pass: settled.last.counted >= twoOhTwo && settled.last.counted <= twoOhTwo + unansweredVotes,
      detail: `202s ${twoOhTwo}, counted ${settled.last.counted}, dropped unanswered when the balancer removed the API ${unansweredVotes}`,
    },
  ];
  return report(
    'sigterm',
    'SIGTERM: drain (not ready, every answer closing its connection) until the balancer moves clients away, finish in-flight requests, exit 0 within the grace period; 0 failed requests, no resets.',
    events,
    seconds,
    checks,
    Math.round(exitedAt - signalledAt),
    'SIGTERM to exit (SHUTDOWN_DRAIN_MS included)',
    { probe: seen, balancerRemovedMs: Math.round(removedAt - signalledAt), unansweredVotes },
  );
}
