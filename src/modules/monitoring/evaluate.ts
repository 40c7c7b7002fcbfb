// Evaluates the supported PromQL subset at one instant over the series store, with
// Prometheus' semantics: rate/increase extrapolation and counter resets, the metric name
// dropped by functions, aggregations and arithmetic, one-to-one vector matching,
// comparisons that filter (or answer 0/1 with bool), and histogram_quantile's interpolation.
import type { BinaryOp, Expr, Matcher, RangeFunction, Selector } from './promql.ts';
import { COMPARISONS } from './promql.ts';
import { instantValue, type Labels, labelsKey, type Point, rangePoints, type Sample, type SeriesStore } from './series-store.ts';

export type Value = { type: 'scalar'; value: number } | { type: 'vector'; samples: Sample[] };

function matches(matchers: readonly Matcher[]): (labels: Labels) => boolean {
  return (labels) =>
    matchers.every((matcher) => {
      const value = labels[matcher.name] ?? '';
      switch (matcher.op) {
        case '=':
          return value === matcher.value;
        case '!=':
          return value !== matcher.value;
        case '=~':
          return matcher.regex?.test(value) ?? false;
        default:
          return !(matcher.regex?.test(value) ?? false);
      }
    });
}

function withoutName(labels: Labels): Labels {
  const { __name__: _name, ...rest } = labels;
  return rest;
}

function select(store: SeriesStore, selector: Selector, t: number): Sample[] {
  const samples: Sample[] = [];
  for (const series of store.matching(matches(selector.matchers))) {
    const value = instantValue(series, t);
    if (value !== undefined) samples.push({ labels: series.labels, value });
  }
  return samples;
}

/** Prometheus' extrapolatedRate (promql/functions.go) for rate and increase. */
function extrapolatedRate(points: Point[], t: number, rangeMs: number, isRate: boolean): number | undefined {
  if (points.length < 2) return undefined;
  const first = points[0] as Point;
  const last = points.at(-1) as Point;
  let result = last.v - first.v;
  for (let i = 1; i < points.length; i += 1) {
    const previous = (points[i - 1] as Point).v;
    if ((points[i] as Point).v < previous) result += previous; // a counter reset
  }
  let durationToStart = (first.t - (t - rangeMs)) / 1000;
  const durationToEnd = (t - last.t) / 1000;
  const sampledInterval = (last.t - first.t) / 1000;
  const averageBetweenSamples = sampledInterval / (points.length - 1);
  if (result > 0 && first.v >= 0) {
    // A counter cannot go below zero: extrapolate no further back than where it would be 0.
    const durationToZero = sampledInterval * (first.v / result);
    if (durationToZero < durationToStart) durationToStart = durationToZero;
  }
  const threshold = averageBetweenSamples * 1.1;
  let extrapolateTo = sampledInterval;
  extrapolateTo += durationToStart < threshold ? durationToStart : averageBetweenSamples / 2;
  extrapolateTo += durationToEnd < threshold ? durationToEnd : averageBetweenSamples / 2;
  result *= extrapolateTo / sampledInterval;
  return isRate ? result / (rangeMs / 1000) : result;
}

function rangeFunction(fn: RangeFunction, points: Point[], t: number, rangeMs: number): number | undefined {
  switch (fn) {
    case 'rate':
    case 'increase':
      return extrapolatedRate(points, t, rangeMs, fn === 'rate');
    case 'avg_over_time':
      return points.length === 0 ? undefined : points.reduce((sum, point) => sum + point.v, 0) / points.length;
    case 'max_over_time':
      return points.length === 0
        ? undefined
        : points.reduce((max, point) => (point.v > max || Number.isNaN(max) ? point.v : max), Number.NaN);
  }
}

function groupLabels(labels: Labels, grouping: { without: boolean; labels: string[] } | undefined): Labels {
  if (!grouping) return {};
  if (grouping.without) {
    const kept = withoutName(labels);
    for (const name of grouping.labels) delete kept[name];
    return kept;
  }
  const kept: Labels = {};
  for (const name of grouping.labels) if (labels[name] !== undefined && labels[name] !== '') kept[name] = labels[name];
  return kept;
}

function aggregate(expr: Extract<Expr, { kind: 'aggregate' }>, samples: Sample[]): Sample[] {
  const groups = new Map<string, { labels: Labels; values: number[] }>();
  for (const sample of samples) {
    const labels = groupLabels(sample.labels, expr.grouping);
    const key = labelsKey(labels);
    const group = groups.get(key) ?? { labels, values: [] };
    group.values.push(sample.value);
    groups.set(key, group);
  }
  return [...groups.values()].map(({ labels, values }) => {
    let value: number;
    switch (expr.op) {
      case 'sum':
        value = values.reduce((a, b) => a + b, 0);
        break;
      case 'avg':
        value = values.reduce((a, b) => a + b, 0) / values.length;
        break;
      case 'count':
        value = values.length;
        break;
      case 'max':
        value = values.reduce((a, b) => (b > a || Number.isNaN(a) ? b : a), Number.NaN);
        break;
      case 'min':
        value = values.reduce((a, b) => (b < a || Number.isNaN(a) ? b : a), Number.NaN);
        break;
    }
    return { labels, value };
  });
}

/** Prometheus' bucketQuantile (promql/quantile.go) over one series' classic buckets. */
export function bucketQuantile(q: number, buckets: { le: number; count: number }[]): number {
  if (Number.isNaN(q)) return Number.NaN;
  if (q < 0) return Number.NEGATIVE_INFINITY;
  if (q > 1) return Number.POSITIVE_INFINITY;
  const sorted = [...buckets].sort((a, b) => a.le - b.le);
  if (sorted.length < 2 || sorted.at(-1)?.le !== Number.POSITIVE_INFINITY) return Number.NaN;
  // Counts must not fall as bounds rise (buckets scraped at different moments): keep the running max.
  let max = Number.NEGATIVE_INFINITY;
  for (const bucket of sorted) {
    if (bucket.count < max) bucket.count = max;
    max = bucket.count;
  }
  const observations = (sorted.at(-1) as { count: number }).count;
  if (observations === 0) return Number.NaN;
  let rank = q * observations;
  let b = sorted.findIndex((bucket) => bucket.count >= rank);
  if (b < 0 || b > sorted.length - 1) b = sorted.length - 1;
  if (b === sorted.length - 1) return (sorted[sorted.length - 2] as { le: number }).le;
  if (b === 0 && (sorted[0] as { le: number }).le <= 0) return (sorted[0] as { le: number }).le;
  let bucketStart = 0;
  const bucketEnd = (sorted[b] as { le: number }).le;
  let count = (sorted[b] as { count: number }).count;
  if (b > 0) {
    const previous = sorted[b - 1] as { le: number; count: number };
    bucketStart = previous.le;
    count -= previous.count;
    rank -= previous.count;
  }
  return bucketStart + (bucketEnd - bucketStart) * (rank / count);
}

function histogramQuantile(q: number, samples: Sample[]): Sample[] {
  const series = new Map<string, { labels: Labels; buckets: { le: number; count: number }[] }>();
  for (const sample of samples) {
    const { le, ...rest } = withoutName(sample.labels);
    if (le === undefined) continue;
    const key = labelsKey(rest);
    const entry = series.get(key) ?? { labels: rest, buckets: [] };
    entry.buckets.push({ le: le === '+Inf' ? Number.POSITIVE_INFINITY : Number(le), count: sample.value });
    series.set(key, entry);
  }
  return [...series.values()].map(({ labels, buckets }) => ({ labels, value: bucketQuantile(q, buckets) }));
}

function arithmetic(op: BinaryOp, a: number, b: number): number {
  switch (op) {
    case '+':
      return a + b;
    case '-':
      return a - b;
    case '*':
      return a * b;
    case '/':
      return a / b;
    case '%':
      return a % b;
    case '^':
      return a ** b;
    case '==':
      return a === b ? 1 : 0;
    case '!=':
      return a !== b ? 1 : 0;
    case '>':
      return a > b ? 1 : 0;
    case '<':
      return a < b ? 1 : 0;
    case '>=':
      return a >= b ? 1 : 0;
    case '<=':
      return a <= b ? 1 : 0;
  }
}

function binary(expr: Extract<Expr, { kind: 'binary' }>, left: Value, right: Value): Value {
  const comparison = COMPARISONS.has(expr.op);
  if (left.type === 'scalar' && right.type === 'scalar') return { type: 'scalar', value: arithmetic(expr.op, left.value, right.value) };
  // A filtering comparison keeps the metric name (and the vector's value); everything else drops it.
  const keepName = comparison && !expr.bool;
  const result = (labels: Labels, a: number, b: number, vectorValue: number): Sample | undefined => {
    const value = arithmetic(expr.op, a, b);
    const outLabels = keepName ? labels : withoutName(labels);
    if (!comparison || expr.bool) return { labels: outLabels, value };
    return value === 1 ? { labels: outLabels, value: vectorValue } : undefined;
  };
  const samples: Sample[] = [];
  if (left.type === 'vector' && right.type === 'scalar') {
    for (const sample of left.samples) {
      const out = result(sample.labels, sample.value, right.value, sample.value);
      if (out) samples.push(out);
    }
  } else if (left.type === 'scalar' && right.type === 'vector') {
    for (const sample of right.samples) {
      const out = result(sample.labels, left.value, sample.value, sample.value);
      if (out) samples.push(out);
    }
  } else if (left.type === 'vector' && right.type === 'vector') {
    // One-to-one matching on every label but the metric name.
    const byLabels = new Map(right.samples.map((sample) => [labelsKey(withoutName(sample.labels)), sample]));
    for (const sample of left.samples) {
      const match = byLabels.get(labelsKey(withoutName(sample.labels)));
      if (!match) continue;
      const out = result(sample.labels, sample.value, match.value, sample.value);
      if (out) samples.push(comparison && !expr.bool ? out : { labels: withoutName(out.labels), value: out.value });
    }
  }
  return { type: 'vector', samples };
}

export function evaluate(expr: Expr, store: SeriesStore, t: number): Value {
  switch (expr.kind) {
    case 'number':
      return { type: 'scalar', value: expr.value };
    case 'negate': {
      const inner = evaluate(expr.expr, store, t);
      if (inner.type === 'scalar') return { type: 'scalar', value: -inner.value };
      return { type: 'vector', samples: inner.samples.map((sample) => ({ labels: withoutName(sample.labels), value: -sample.value })) };
    }
    case 'selector':
      return { type: 'vector', samples: select(store, expr, t) };
    case 'range': {
      const samples: Sample[] = [];
      for (const series of store.matching(matches(expr.selector.matchers))) {
        const value = rangeFunction(expr.fn, rangePoints(series, t, expr.rangeMs), t, expr.rangeMs);
        if (value !== undefined) samples.push({ labels: withoutName(series.labels), value });
      }
      return { type: 'vector', samples };
    }
    case 'aggregate':
      return { type: 'vector', samples: aggregate(expr, vectorOf(evaluate(expr.expr, store, t))) };
    case 'histogram_quantile': {
      const q = evaluate(expr.quantile, store, t);
      return {
        type: 'vector',
        samples: histogramQuantile(q.type === 'scalar' ? q.value : Number.NaN, vectorOf(evaluate(expr.expr, store, t))),
      };
    }
    case 'binary':
      return binary(expr, evaluate(expr.left, store, t), evaluate(expr.right, store, t));
  }
}

function vectorOf(value: Value): Sample[] {
  return value.type === 'vector' ? value.samples : [];
}

/** The longest range or lookback an expression reads, for the store's retention. */
export function longestRange(expr: Expr): number {
  switch (expr.kind) {
    case 'range':
      return expr.rangeMs;
    case 'aggregate':
    case 'negate':
      return longestRange(expr.expr);
    case 'histogram_quantile':
      return Math.max(longestRange(expr.quantile), longestRange(expr.expr));
    case 'binary':
      return Math.max(longestRange(expr.left), longestRange(expr.right));
    default:
      return 0;
  }
}
