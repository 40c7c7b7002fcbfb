// A mixed HTTP load at a fixed rate with autocannon: one autocannon instance per (target,
// route), so every answer is known by route and by target, with its time, status and
// latency (or its transport error). Used by the chaos suite and by `npm run load`.
import autocannon from 'autocannon';
import { summarise } from './lib.ts';

export interface RouteLoad {
  name: string;
  /** Share of the total rate. */
  weight: number;
  /** Called for every request: method, path, headers and body (autocannon's setupRequest). */
  request: () => { method: 'GET' | 'POST'; path: string; headers: Record<string, string>; body?: string };
}

/** One answer or one transport failure, `at` in ms since the load started. */
export interface LoadEvent {
  at: number;
  target: number;
  route: string;
  /** HTTP status, or 0 for a transport error (code in `error`). */
  status: number;
  error?: string;
  latencyMs: number;
}

export interface LoadOptions {
  targets: string[];
  routes: RouteLoad[];
  /** Requests per second over every target and route. */
  rate: number;
  seconds: number;
  /** Keep-alive connections over every target and route. */
  connections: number;
  /** Seconds after which a request counts as hung. */
  timeoutSeconds?: number;
  /** Called about once a second with the events so far. */
  onProgress?: (events: LoadEvent[], elapsedMs: number) => void;
}

export interface LoadRun {
  startedAt: number;
  events: LoadEvent[];
  /**
   * Requests built per `${target} ${route}` (autocannon's setupRequest): at most a few more than
   * were sent. Less the answers and errors, a bound on what a stopped target left unanswered.
   */
  built: Record<string, number>;
  stop(): void;
  /**
   * Stops the load on one target: autocannon reconnects to a dead port in a tight loop,
   * which would spend the load generator's CPU and inflate every other latency it measures.
   */
  stopTarget(target: number): void;
  /** Starts it again for the rest of the run. */
  resumeTarget(target: number): void;
  done: Promise<LoadEvent[]>;
}

export function startLoad(options: LoadOptions): LoadRun {
  const startedAt = performance.now();
  const events: LoadEvent[] = [];
  const built: Record<string, number> = {};
  const totalWeight = options.routes.reduce((sum, route) => sum + route.weight, 0);
  const instances: { target: number; instance: autocannon.Instance }[] = [];
  const runs: Promise<unknown>[] = [];
  const elapsed = () => performance.now() - startedAt;

  const startTarget = (targetIndex: number, seconds: number) => {
    for (const route of options.routes) {
      const share = route.weight / totalWeight / options.targets.length;
      const connections = Math.max(1, Math.round(options.connections * share));
      const rate = Math.max(1, Math.round(options.rate * share));
      const instance = autocannon(
        {
          url: options.targets[targetIndex] as string,
          connections,
          overallRate: rate,
          // A number of requests, not a duration: at the end of a duration autocannon drops the
          // requests still in flight, whose answers (a 202 for a vote) the checks must see.
          amount: Math.max(connections, Math.round(rate * seconds)),
          timeout: options.timeoutSeconds ?? 10,
          requests: [
            {
              setupRequest: (request) => {
                const key = `${targetIndex} ${route.name}`;
                built[key] = (built[key] ?? 0) + 1;
                return { ...request, ...route.request() };
              },
            },
          ],
        },
        () => {},
      );
      // autocannon prints nothing without a tracker, but an unhandled 'error' would throw.
      instance.on('error', () => {});
      instance.on('response', (_client, status, _bytes, latencyMs) => {
        events.push({ at: elapsed(), target: targetIndex, route: route.name, status, latencyMs });
      });
      instance.on('reqError', (error: NodeJS.ErrnoException) => {
        const code = error.code ?? (error.message === 'request timed out' ? 'TIMEOUT' : error.message);
        events.push({ at: elapsed(), target: targetIndex, route: route.name, status: 0, error: code, latencyMs: 0 });
      });
      instances.push({ target: targetIndex, instance });
      runs.push(new Promise((resolve) => instance.once('done', resolve)));
    }
  };
  options.targets.forEach((_target, index) => {
    startTarget(index, options.seconds);
  });
  const progress = options.onProgress ? setInterval(() => options.onProgress?.(events, elapsed()), 1000) : undefined;
  // Runs may be added while waiting (a target resumed): wait until none is left running.
  const allDone = async () => {
    for (let waited = 0; waited < runs.length; ) {
      const batch = runs.length;
      await Promise.all(runs.slice(0, batch));
      waited = batch;
    }
    if (progress) clearInterval(progress);
    return events;
  };
  return {
    startedAt,
    events,
    built,
    stop: () => {
      for (const { instance } of instances) instance.stop();
    },
    stopTarget: (target) => {
      for (const item of instances) if (item.target === target) item.instance.stop();
    },
    resumeTarget: (target) => {
      const left = options.seconds - elapsed() / 1000;
      if (left >= 1) startTarget(target, left);
    },
    done: new Promise((resolve) => setImmediate(resolve)).then(allDone),
  };
}

export interface RouteSummary {
  route: string;
  requests: number;
  byStatus: Record<string, number>;
  transportErrors: Record<string, number>;
  p50: number;
  p95: number;
  p99: number;
  rps: number;
}

/** Per-route requests sent, counts by status, transport errors by code, latency percentiles of answered requests. */
export function summariseEvents(events: LoadEvent[], seconds: number): RouteSummary[] {
  const routes = [...new Set(events.map((event) => event.route))];
  return routes.map((route) => {
    const mine = events.filter((event) => event.route === route);
    const byStatus: Record<string, number> = {};
    const transportErrors: Record<string, number> = {};
    for (const event of mine) {
      if (event.status === 0) transportErrors[event.error ?? '?'] = (transportErrors[event.error ?? '?'] ?? 0) + 1;
      else byStatus[event.status] = (byStatus[event.status] ?? 0) + 1;
    }
    const latency = summarise(mine.filter((event) => event.status !== 0).map((event) => event.latencyMs));
    // A refused connection sent no request (autocannon retries it at once, so they pile up).
    const requests = mine.filter((event) => event.error !== 'ECONNREFUSED').length;
    return { route, requests, byStatus, transportErrors, ...latency, rps: Math.round(requests / Math.max(seconds, 0.001)) };
  });
}

export function formatCounts(counts: Record<string, number>): string {
  const entries = Object.entries(counts);
  return entries.length === 0 ? '-' : entries.map(([key, n]) => `${key}: ${n}`).join(', ');
}
