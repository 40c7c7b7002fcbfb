// Scenarios where a dependency goes away under load: Redis cut, then Postgres cut, each
// for the fault's seconds through its TCP relay, then restored.
import {
  accepted,
  type Check,
  type Context,
  count,
  countsMatchAccepted,
  documentsSettle,
  is2xx,
  report,
  type ScenarioResult,
  sleep,
  underLoad,
  VOTES,
  votesOfUnknownOutcome,
  votesSettle,
} from './common.ts';

export async function redisCut(context: Context): Promise<ScenarioResult> {
  const { cluster, timing } = context;
  let cutAt = 0;
  let restoredAt = 0;
  let readiness = '';
  const limiterStatuses: number[] = [];
  const unknownBefore = await votesOfUnknownOutcome(cluster);
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
      detail: `${nonVotes.filter((event) => !is2xx(event)).length} of ${nonVotes.length} not 2xx (${JSON.stringify(
        count(
          nonVotes.filter((event) => !is2xx(event)),
          (event) => String(event.status || event.error),
        ),
      )})`,
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
    countsMatchAccepted(settled, twoOhTwo, (await votesOfUnknownOutcome(cluster)) - unknownBefore),
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
  const unknownBefore = await votesOfUnknownOutcome(cluster);
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
    countsMatchAccepted(settled, twoOhTwo, (await votesOfUnknownOutcome(cluster)) - unknownBefore),
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
