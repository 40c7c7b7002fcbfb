// What every chaos scenario shares: its timing, its result, the mixed load run around a
// fault, and bounded waits for the database to settle afterwards.
import { metricSamples } from '../lib.ts';
import { type LoadEvent, type LoadRun, type RouteSummary, startLoad, summariseEvents } from '../mixed-load.ts';
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

export interface Context {
  cluster: Cluster;
  seeded: Seed;
  timing: Timing;
}

export const VOTES = 'POST /api/v1/polls/:id/votes';
export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
export const is2xx = (event: LoadEvent) => event.status >= 200 && event.status < 300;

/** Polls `probe` until true or `timeoutMs`; returns ms taken, or null when it never held. */
export async function timeUntil(probe: () => Promise<boolean>, timeoutMs: number): Promise<number | null> {
  const started = performance.now();
  while (performance.now() - started < timeoutMs) {
    if (await probe().catch(() => false)) return Math.round(performance.now() - started);
    await sleep(200);
  }
  return null;
}

export function count<T>(items: T[], key: (item: T) => string): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const item of items) counts[key(item)] = (counts[key(item)] ?? 0) + 1;
  return counts;
}

/** Runs the scenario's load, calling `fault` after `before` seconds; returns the events and the load's start. */
export async function underLoad(context: Context, label: string, fault: (at: () => number, load: LoadRun) => Promise<void>) {
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
  const faultDone = fault(at, load);
  const events = await load.done;
  await faultDone;
  return { traffic, events, seconds };
}

export function report(
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

/**
 * Votes answered 202 must all be counted once the consumers catch up (bounded wait). Settled
 * also means the vote log is drained (backlog 0, as /metrics reads it), so a vote applied
 * after the 202s were reached (one answered 503 that reached the log) is counted too.
 */
export async function votesSettle(
  cluster: Cluster,
  pollIds: string[],
  expected: (stored: { counted: number }) => boolean,
  timeoutMs = 120_000,
) {
  let last = { applied: 0, counted: 0 };
  const ms = await timeUntil(async () => {
    if ((await voteBacklog(cluster)) !== 0) return false;
    last = await storedVotes(cluster.pool, pollIds);
    return expected(last) && last.applied === last.counted;
  }, timeoutMs);
  return { ms, last };
}

/** One series' value in an API's /metrics (e.g. `rampart_vote_backlog`), undefined when absent. */
async function sampleOf(api: { url: string }, series: string): Promise<number | undefined> {
  return (await metricSamples(api.url, [series]))[series];
}

/**
 * Accepted votes not yet applied and acknowledged, the whole log's (every API reports the
 * same), from the first API that answers; null while none does (one may be killed or stopping).
 */
async function voteBacklog(cluster: Cluster): Promise<number | null> {
  for (const api of cluster.apis) {
    // A killed or stopping API refuses: ask the next.
    const backlog = await sampleOf(api, 'rampart_vote_backlog').catch(() => undefined);
    if (backlog !== undefined) return backlog;
  }
  return null;
}

export async function documentsSettle(cluster: Cluster, projectId: string, timeoutMs: number) {
  let last = await storedDocuments(cluster.pool, projectId);
  const ms = await timeUntil(async () => {
    last = await storedDocuments(cluster.pool, projectId);
    // Settled means the parse jobs too: a worker killed after its parse committed leaves the
    // document ready and its job to expire into `retry`, then run again (a no-op) and complete.
    const jobsInFlight = ['created', 'retry', 'active'].some((state) => (last.jobsByState[state] ?? 0) > 0);
    return !last.byState.pending && !jobsInFlight;
  }, timeoutMs);
  return { ms, last };
}

/**
 * Votes the APIs answered 503 because Redis lost the append's answer (`rampart_votes_total`
 * `{outcome="unknown"}`, summed over the APIs running now): each may be counted, so a
 * scenario's count may exceed its 202s by at most the rise of this figure over the scenario.
 */
export async function votesOfUnknownOutcome(cluster: Cluster): Promise<number> {
  let sum = 0;
  for (const api of cluster.apis) {
    const series = 'rampart_votes_total{outcome="unknown"}';
    const unknown = await sampleOf(api, series);
    if (unknown === undefined) throw new Error(`${series} missing from ${api.url}/metrics`);
    sum += unknown;
  }
  return sum;
}

/** Nothing accepted lost, nothing counted that was not accepted beyond the votes of unknown outcome. */
export function countsMatchAccepted(
  settled: { ms: number | null; last: { counted: number; applied: number } },
  twoOhTwo: number,
  unknown: number,
): Check {
  const { counted, applied } = settled.last;
  return {
    name: 'counts equal the 202s, plus at most the 503s that said the vote may have been recorded',
    pass: settled.ms !== null && counted >= twoOhTwo && counted <= twoOhTwo + unknown,
    detail: `counted ${counted}, applied rows ${applied}, 202s ${twoOhTwo}, 503s of unknown outcome ${unknown}`,
  };
}

export const accepted = (events: LoadEvent[], route: string, status: number) =>
  events.filter((event) => event.route === route && event.status === status).length;
