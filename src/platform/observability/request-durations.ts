// The HTTP request histogram, counted on the hot path with plain array increments and handed
// to prom-client's registry (which renders the exposition) in prom-client's own metric shape.
// prom-client's Histogram validates, hashes and copies the labels on every observation:
// about 1 µs each here, a few percent of a small request (README, "Monitoring").

export type RequestLabels = { route: string; method: string; status: string };

/** One sample as prom-client's registry reads it from a metric's get(). */
interface SampleOut {
  metricName: string;
  labels: Record<string, string | number>;
  value: number;
}

interface Tally {
  labels: RequestLabels;
  /** Observations per bucket, not cumulative; the last slot is +Inf. */
  buckets: Float64Array;
  sum: number;
  count: number;
}

export class RequestDurations {
  readonly name: string;
  readonly help: string;
  readonly type = 'histogram' as const;
  readonly aggregator = 'sum' as const;
  readonly #bounds: readonly number[];
  /** route -> method -> status -> tally: a warm request allocates nothing (not even a key string). */
  readonly #tallies = new Map<string, Map<string, Map<number, Tally>>>();

  constructor(name: string, help: string, bounds: readonly number[]) {
    this.name = name;
    this.help = help;
    this.#bounds = [...bounds].sort((a, b) => a - b);
  }

  observe(route: string, method: string, status: number, seconds: number): void {
    let byMethod = this.#tallies.get(route);
    if (!byMethod) {
      byMethod = new Map();
      this.#tallies.set(route, byMethod);
    }
    let byStatus = byMethod.get(method);
    if (!byStatus) {
      byStatus = new Map();
      byMethod.set(method, byStatus);
    }
    let tally = byStatus.get(status);
    if (!tally) {
      tally = { labels: { route, method, status: String(status) }, buckets: new Float64Array(this.#bounds.length + 1), sum: 0, count: 0 };
      byStatus.set(status, tally);
    }
    const bounds = this.#bounds;
    let bucket = 0;
    while (bucket < bounds.length && seconds > (bounds[bucket] as number)) bucket += 1;
    tally.buckets[bucket] = (tally.buckets[bucket] as number) + 1;
    tally.sum += seconds;
    tally.count += 1;
  }

  /** Every label set with its request count (rampart_http_requests_total reads these). */
  *counts(): Iterable<{ labels: RequestLabels; count: number }> {
    for (const byMethod of this.#tallies.values()) for (const byStatus of byMethod.values()) yield* byStatus.values();
  }

  /** prom-client's metric contract: what its registry renders and merges. */
  get(): { name: string; help: string; type: 'histogram'; aggregator: 'sum'; values: SampleOut[] } {
    const values: SampleOut[] = [];
    for (const { labels, buckets, sum, count } of this.counts() as Iterable<Tally>) {
      let cumulative = 0;
      for (const [i, bound] of this.#bounds.entries()) {
        cumulative += buckets[i] as number;
        values.push({ metricName: `${this.name}_bucket`, labels: { ...labels, le: bound }, value: cumulative });
      }
      values.push({ metricName: `${this.name}_bucket`, labels: { ...labels, le: '+Inf' }, value: count });
      values.push({ metricName: `${this.name}_sum`, labels, value: sum });
      values.push({ metricName: `${this.name}_count`, labels, value: count });
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }

  reset(): void {
    this.#tallies.clear();
  }
}
