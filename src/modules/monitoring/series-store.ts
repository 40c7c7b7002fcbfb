// The evaluator's time series: each evaluation records one snapshot of every series (as a
// Prometheus scrape would), series missing from a snapshot are marked stale, and points
// older than the longest range any rule reads are dropped.

export type Labels = Record<string, string>;

export interface Sample {
  labels: Labels;
  value: number;
}

export interface Point {
  t: number;
  v: number;
  /** Prometheus' staleness marker: the series was absent from the snapshot at t. */
  stale?: true;
}

export interface Series {
  labels: Labels;
  points: Point[];
}

/** Prometheus' default lookback for instant selectors. */
export const LOOKBACK_MS = 5 * 60_000;

export function labelsKey(labels: Labels): string {
  return Object.keys(labels)
    .sort()
    .map((name) => `${name}\u0000${labels[name]}`)
    .join('\u0001');
}

export class SeriesStore {
  readonly #series = new Map<string, Series>();
  readonly #retentionMs: number;

  /** `retentionMs`: the longest range or lookback a rule reads (at least the lookback). */
  constructor(retentionMs: number) {
    this.#retentionMs = Math.max(retentionMs, LOOKBACK_MS);
  }

  record(t: number, samples: readonly Sample[]): void {
    const seen = new Set<string>();
    for (const sample of samples) {
      const key = labelsKey(sample.labels);
      seen.add(key);
      let series = this.#series.get(key);
      if (!series) {
        series = { labels: sample.labels, points: [] };
        this.#series.set(key, series);
      }
      series.points.push({ t, v: sample.value });
    }
    const horizon = t - this.#retentionMs;
    for (const [key, series] of this.#series) {
      const last = series.points.at(-1);
      if (!seen.has(key) && last && !last.stale) series.points.push({ t, v: Number.NaN, stale: true });
      const firstKept = series.points.findIndex((point) => point.t >= horizon);
      if (firstKept > 0) series.points.splice(0, firstKept);
      if (firstKept < 0 || series.points.every((point) => point.stale)) this.#series.delete(key);
    }
  }

  /** Every series whose labels satisfy `matches`. */
  *matching(matches: (labels: Labels) => boolean): Iterable<Series> {
    for (const series of this.#series.values()) if (matches(series.labels)) yield series;
  }

  get size(): number {
    return this.#series.size;
  }
}

/** The value an instant selector sees at t: the latest point within the lookback, unless it is stale. */
export function instantValue(series: Series, t: number): number | undefined {
  for (let i = series.points.length - 1; i >= 0; i -= 1) {
    const point = series.points[i] as Point;
    if (point.t > t) continue;
    if (point.t < t - LOOKBACK_MS || point.stale) return undefined;
    return point.v;
  }
  return undefined;
}

/** The points a range selector sees at t: [t - range, t], staleness markers left out. */
export function rangePoints(series: Series, t: number, rangeMs: number): Point[] {
  return series.points.filter((point) => !point.stale && point.t >= t - rangeMs && point.t <= t);
}
