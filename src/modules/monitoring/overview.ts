// The admin metrics overview: request rate, 5xx ratio and p95 latency of the whole cluster
// over the last hour, one point per evaluation interval. The evaluator's snapshots (every
// process's series) feed it; the points live in this process and, in the scale shape, in
// Redis, so whichever `serve` answers GET /admin/metrics/overview has them.
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { MetricSample } from '../../platform/observability/metric-snapshots.ts';

export const OVERVIEW_WINDOW_MS = 60 * 60_000;

export interface OverviewPoint {
  at: string;
  /** Requests per second over the step. */
  request_rate: number;
  /** 5xx answers over all answers in the step; null when there were none. */
  error_ratio: number | null;
  /** 95th percentile of request duration in the step, from the histogram buckets; null when there were none. */
  p95_ms: number | null;
}

interface Totals {
  requests: number;
  errors: number;
  /** Cumulative bucket counts by upper bound (Infinity for +Inf). */
  buckets: Map<number, number>;
}

const REQUESTS = 'rampart_http_requests_total';
const BUCKETS = 'rampart_http_request_duration_seconds_bucket';

function totalsByInstance(samples: readonly MetricSample[]): Map<string, Totals> {
  const byInstance = new Map<string, Totals>();
  for (const { labels, value } of samples) {
    const name = labels.__name__;
    if (name !== REQUESTS && name !== BUCKETS) continue;
    const instance = labels.instance ?? '';
    let totals = byInstance.get(instance);
    if (!totals) {
      totals = { requests: 0, errors: 0, buckets: new Map() };
      byInstance.set(instance, totals);
    }
    if (name === REQUESTS) {
      totals.requests += value;
      if (labels.status?.startsWith('5')) totals.errors += value;
    } else {
      const bound = labels.le === '+Inf' ? Number.POSITIVE_INFINITY : Number(labels.le);
      totals.buckets.set(bound, (totals.buckets.get(bound) ?? 0) + value);
    }
  }
  return byInstance;
}

/** A counter's increase, as Prometheus reads one: a drop means the process restarted from zero. */
function increase(now: number, before: number | undefined): number {
  if (before === undefined || now < before) return now;
  return now - before;
}

/** Prometheus' histogram_quantile over cumulative bucket counts (linear inside a bucket). */
export function histogramQuantile(q: number, buckets: Map<number, number>): number | null {
  const bounds = [...buckets.keys()].sort((a, b) => a - b);
  const total = buckets.get(Number.POSITIVE_INFINITY) ?? 0;
  if (total <= 0) return null;
  const rank = q * total;
  let lower = 0;
  let below = 0;
  for (const bound of bounds) {
    const count = buckets.get(bound) ?? 0;
    if (count >= rank) {
      if (bound === Number.POSITIVE_INFINITY) return lower;
      return lower + ((bound - lower) * (rank - below)) / Math.max(count - below, Number.EPSILON);
    }
    lower = bound;
    below = count;
  }
  return lower;
}

export class MetricsOverview {
  readonly #redis: Redis | undefined;
  readonly #key: string;
  readonly #logger: Logger;
  /** The evaluation interval: one point per step. */
  readonly stepMs: number;
  #points: OverviewPoint[] = [];
  #previous: { t: number; totals: Map<string, Totals> } | undefined;

  constructor(options: { redis: Redis | undefined; keyPrefix: string; stepMs: number; logger: Logger }) {
    const { redis, keyPrefix, logger } = options;
    this.stepMs = options.stepMs;
    this.#redis = redis;
    this.#key = `${keyPrefix}monitoring:overview`;
    this.#logger = logger;
  }

  /** Adds the step ending at `t` (the first snapshot is only the baseline); returns the samples. */
  async record(t: number, samples: MetricSample[]): Promise<MetricSample[]> {
    const totals = totalsByInstance(samples);
    const previous = this.#previous;
    this.#previous = { t, totals };
    if (!previous || t <= previous.t) return samples;
    let requests = 0;
    let errors = 0;
    const buckets = new Map<number, number>();
    for (const [instance, now] of totals) {
      const before = previous.totals.get(instance);
      requests += increase(now.requests, before?.requests);
      errors += increase(now.errors, before?.errors);
      for (const [bound, count] of now.buckets) buckets.set(bound, (buckets.get(bound) ?? 0) + increase(count, before?.buckets.get(bound)));
    }
    const p95 = histogramQuantile(0.95, buckets);
    this.#points.push({
      at: new Date(t).toISOString(),
      request_rate: requests / ((t - previous.t) / 1000),
      error_ratio: requests > 0 ? errors / requests : null,
      p95_ms: p95 === null ? null : p95 * 1000,
    });
    const horizon = t - OVERVIEW_WINDOW_MS;
    this.#points = this.#points.filter((point) => Date.parse(point.at) >= horizon);
    // Never in the evaluation's way: with Redis down the next step writes the whole hour again.
    if (this.#redis?.status === 'ready') {
      await this.#redis
        .set(this.#key, JSON.stringify(this.#points), 'PX', OVERVIEW_WINDOW_MS)
        .catch((error: unknown) => this.#logger.warn({ err: error }, 'metrics overview not shared'));
    }
    return samples;
  }

  /** The last hour's points, oldest first: from Redis when the cluster shares one, else this process's. */
  async points(): Promise<OverviewPoint[]> {
    if (!this.#redis) return this.#points;
    const stored = await this.#redis.get(this.#key);
    return stored ? (JSON.parse(stored) as OverviewPoint[]) : [];
  }
}
