// The PromQL subset: parsing (and refusing what is outside it, with positions) and evaluating
// every supported function and operator over recorded snapshots at explicit instants.
import { describe, expect, it } from 'vitest';
import { formatDuration, parseDuration } from '../../../src/modules/monitoring/durations.ts';
import { bucketQuantile, evaluate, longestRange, type Value } from '../../../src/modules/monitoring/evaluate.ts';
import { PromqlError, parsePromql } from '../../../src/modules/monitoring/promql.ts';
import { instantValue, type Sample, SeriesStore } from '../../../src/modules/monitoring/series-store.ts';

const S = 1000;
const M = 60 * S;

function series(name: string, labels: Record<string, string>, value: number): Sample {
  return { labels: { __name__: name, ...labels }, value };
}

/** Records `snapshots[i]` at i * step (15 s, like the default evaluation interval). */
function storeOf(snapshots: Sample[][], step = 15 * S): SeriesStore {
  const store = new SeriesStore(60 * M);
  for (const [i, samples] of snapshots.entries()) store.record(i * step, samples);
  return store;
}

function run(query: string, store: SeriesStore, t: number): Value {
  return evaluate(parsePromql(query), store, t);
}

function values(value: Value): Record<string, number> {
  if (value.type === 'scalar') return { scalar: value.value };
  return Object.fromEntries(value.samples.map((sample) => [JSON.stringify(sample.labels), sample.value]));
}

describe('durations', () => {
  it('reads and writes Prometheus durations', () => {
    expect(parseDuration('1h30m')).toBe(90 * M);
    expect(parseDuration('15s')).toBe(15 * S);
    expect(parseDuration('250ms')).toBe(250);
    expect(parseDuration('1d')).toBe(24 * 60 * M);
    expect(parseDuration('0')).toBe(0);
    expect(parseDuration('0s')).toBe(0);
    for (const bad of ['', '5', '5x', 'm5', '30m1h', '1h1h', '1.5h']) expect(parseDuration(bad), bad).toBeUndefined();
    expect(formatDuration(90 * M)).toBe('1h30m');
    expect(formatDuration(0)).toBe('0s');
    expect(formatDuration(1500)).toBe('1s500ms');
  });
});

describe('parsing the subset', () => {
  it('accepts every documented form', () => {
    for (const query of [
      'up',
      'up{job="api", instance!="a", path=~"/api/.*", code!~"2.."}',
      '{__name__="up"}',
      'rate(x[5m])',
      'increase(x{a="b"}[1h])',
      'avg_over_time(x[30s])',
      'max_over_time(x[1m])',
      'sum(x)',
      'sum by (a, b) (x)',
      'avg without (instance) (x)',
      'max(x) by (a)',
      'min(x)',
      'count(x)',
      'histogram_quantile(0.95, sum by (le) (rate(h_bucket[5m])))',
      'x / y > 0.5',
      '-x + 2 * 3 ^ 2 % 5 - (x)',
      'x == bool 1',
      '1 < bool 2',
    ]) {
      expect(() => parsePromql(query), query).not.toThrow();
    }
  });

  it('refuses what is outside the subset, naming the position', () => {
    const cases: [string, RegExp, number][] = [
      ['irate(x[5m])', /"irate" is outside/, 1],
      ['sum(x) and y', /outside the supported PromQL subset/, 8],
      ['x + on(a) y', /on, ignoring/, 5],
      ['topk(3, x)', /"topk" is outside/, 1],
      ['x[5m]', /range selector outside/, 1],
      ['rate(x)', /needs one range selector/, 6],
      ['rate(x[5m] offset 1m)', /needs one range selector/, 6],
      ['x offset 5m', /outside the supported/, 1],
      ['sum(x', /syntax error/, 6],
      ['x{a=~"("}', /invalid regular expression/, 6],
      ['{a=""}', /needs a metric name/, 1],
      ['1 > 2', /must use bool/, 3],
      ['x + bool 1', /bool applies to comparisons only/, 3],
      ['histogram_quantile(x, y)', /scalar quantile/, 20],
      ['sum(1)', /needs an instant vector/, 5],
      ['rate(x[0s])', /invalid range/, 8],
    ];
    for (const [query, message, position] of cases) {
      let caught: unknown;
      try {
        parsePromql(query);
      } catch (error) {
        caught = error;
      }
      expect(caught, query).toBeInstanceOf(PromqlError);
      expect((caught as PromqlError).message, query).toMatch(message);
      expect((caught as PromqlError).position, query).toBe(position);
    }
  });

  it('reads Go string literals and the longest range', () => {
    const store = storeOf([[series('x', { path: 'a"b\n', raw: 'c\\d' }, 1)]]);
    expect(values(run('x{path="a\\"b\\n", raw=`c\\d`}', store, 0))).not.toEqual({});
    expect(values(run("x{path='a\"b\\n'}", store, 0))).not.toEqual({});
    expect(longestRange(parsePromql('sum(rate(x[5m])) / max_over_time(y[1h]) + -histogram_quantile(0.5, rate(z[2m]))'))).toBe(60 * M);
  });
});

describe('evaluation', () => {
  it('selects the latest value within the lookback, and nothing for a stale or absent series', () => {
    const store = new SeriesStore(0);
    store.record(0, [series('x', { a: '1' }, 5), series('x', { a: '2' }, 6)]);
    store.record(15 * S, [series('x', { a: '1' }, 7)]);
    expect(values(run('x', store, 15 * S))).toEqual({ '{"__name__":"x","a":"1"}': 7 });
    expect(values(run('x{a="2"}', store, 10 * S))).toEqual({ '{"__name__":"x","a":"2"}': 6 });
    expect(values(run('x', store, 15 * S + 5 * M + 1))).toEqual({});
    expect(values(run('x{a!="1"}', store, 15 * S))).toEqual({});
    expect(values(run('x{a=~"1|2"}', store, 0))).toHaveProperty(['{"__name__":"x","a":"2"}'], 6);
    expect(values(run('x{a!~"1"}', store, 0))).toEqual({ '{"__name__":"x","a":"2"}': 6 });
    expect(store.size).toBe(2);
    store.record(30 * M, []); // beyond retention: both go
    expect(store.size).toBe(0);
    expect(instantValue({ labels: {}, points: [] }, 0)).toBeUndefined();
  });

  it('computes rate and increase as Prometheus does (extrapolation, counter resets)', () => {
    // 0, 10, 20, ... every 15 s: a steady 10 per 15 s.
    const steady = storeOf(Array.from({ length: 41 }, (_, i) => [series('c', {}, i * 10)]));
    const t = 40 * 15 * S;
    expect(run('increase(c[5m])', steady, t)).toEqual({ type: 'vector', samples: [{ labels: {}, value: 200 }] });
    expect(values(run('rate(c[5m])', steady, t)).scalar ?? values(run('rate(c[5m])', steady, t))['{}']).toBeCloseTo(10 / 15, 10);
    // A reset (100 -> 5) counts as 100 + 5 more.
    const reset = storeOf([[series('c', {}, 90)], [series('c', {}, 100)], [series('c', {}, 5)]]);
    const increase = values(run('increase(c[1m])', reset, 30 * S))['{}'] as number;
    // raw increase 10 + 5 = 15 over 30 s sampled, extrapolated to the 60 s window's edges where allowed.
    expect(increase).toBeCloseTo(15 * ((30 + 7.5 + 0) / 30), 10);
    // Starting near zero: extrapolation stops where the counter would have been 0.
    const young = storeOf([[series('c', {}, 1)], [series('c', {}, 11)], [series('c', {}, 21)]]);
    expect(values(run('increase(c[5m])', young, 30 * S))['{}']).toBeCloseTo(20 * ((30 + 1.5) / 30), 10);
    // One point is not enough.
    expect(values(run('rate(c[5m])', storeOf([[series('c', {}, 1)]]), 0))).toEqual({});
  });

  it('computes avg_over_time and max_over_time over the window, dropping the metric name', () => {
    const store = storeOf([[series('g', { a: 'x' }, 1)], [series('g', { a: 'x' }, 5)], [series('g', { a: 'x' }, 3)]]);
    expect(values(run('avg_over_time(g[1m])', store, 30 * S))).toEqual({ '{"a":"x"}': 3 });
    expect(values(run('max_over_time(g[1m])', store, 30 * S))).toEqual({ '{"a":"x"}': 5 });
    expect(values(run('max_over_time(g[10s])', store, 30 * S))).toEqual({ '{"a":"x"}': 3 });
    expect(values(run('avg_over_time(g[1m])', store, 10 * M))).toEqual({});
  });

  it('aggregates with by and without', () => {
    const store = storeOf([
      [
        series('r', { route: '/a', status: '200', instance: 'p1' }, 1),
        series('r', { route: '/a', status: '500', instance: 'p2' }, 2),
        series('r', { route: '/b', status: '200', instance: 'p1' }, 4),
      ],
    ]);
    expect(values(run('sum(r)', store, 0))).toEqual({ '{}': 7 });
    expect(values(run('sum by (route) (r)', store, 0))).toEqual({ '{"route":"/a"}': 3, '{"route":"/b"}': 4 });
    expect(values(run('avg by (route) (r)', store, 0))).toEqual({ '{"route":"/a"}': 1.5, '{"route":"/b"}': 4 });
    expect(values(run('max by (instance) (r)', store, 0))).toEqual({ '{"instance":"p1"}': 4, '{"instance":"p2"}': 2 });
    expect(values(run('min(r)', store, 0))).toEqual({ '{}': 1 });
    expect(values(run('count without (instance, status) (r)', store, 0))).toEqual({ '{"route":"/a"}': 2, '{"route":"/b"}': 1 });
    expect(values(run('sum by (missing) (r)', store, 0))).toEqual({ '{}': 7 });
    expect(values(run('sum(nothing)', store, 0))).toEqual({});
  });

  it('applies arithmetic and comparisons between vectors and scalars', () => {
    const store = storeOf([
      [series('a', { k: '1' }, 10), series('a', { k: '2' }, 2), series('b', { k: '1' }, 4), series('b', { k: '3' }, 1)],
    ]);
    expect(values(run('a / b', store, 0))).toEqual({ '{"k":"1"}': 2.5 });
    expect(values(run('a + b', store, 0))).toEqual({ '{"k":"1"}': 14 });
    expect(values(run('a - 1', store, 0))).toEqual({ '{"k":"1"}': 9, '{"k":"2"}': 1 });
    expect(values(run('2 * a', store, 0))).toEqual({ '{"k":"1"}': 20, '{"k":"2"}': 4 });
    expect(values(run('a % 3', store, 0))).toEqual({ '{"k":"1"}': 1, '{"k":"2"}': 2 });
    expect(values(run('a ^ 2', store, 0))).toEqual({ '{"k":"1"}': 100, '{"k":"2"}': 4 });
    expect(values(run('-a', store, 0))).toEqual({ '{"k":"1"}': -10, '{"k":"2"}': -2 });
    // Filtering comparisons keep the name and the vector's value.
    expect(values(run('a > 5', store, 0))).toEqual({ '{"__name__":"a","k":"1"}': 10 });
    expect(values(run('5 < a', store, 0))).toEqual({ '{"__name__":"a","k":"1"}': 10 });
    expect(values(run('a >= 2', store, 0))).toEqual({ '{"__name__":"a","k":"1"}': 10, '{"__name__":"a","k":"2"}': 2 });
    expect(values(run('a <= 2', store, 0))).toEqual({ '{"__name__":"a","k":"2"}': 2 });
    expect(values(run('a == 2', store, 0))).toEqual({ '{"__name__":"a","k":"2"}': 2 });
    expect(values(run('a != 2', store, 0))).toEqual({ '{"__name__":"a","k":"1"}': 10 });
    expect(values(run('a > b', store, 0))).toEqual({ '{"__name__":"a","k":"1"}': 10 });
    expect(values(run('a < bool 5', store, 0))).toEqual({ '{"k":"1"}': 0, '{"k":"2"}': 1 });
    expect(values(run('a > bool b', store, 0))).toEqual({ '{"k":"1"}': 1 });
    expect(values(run('1 + 2 * 3', store, 0))).toEqual({ scalar: 7 });
    expect(values(run('-(2 - 5)', store, 0))).toEqual({ scalar: 3 });
    expect(values(run('1 < bool 2', store, 0))).toEqual({ scalar: 1 });
  });

  it('computes histogram_quantile with Prometheus interpolation', () => {
    const bucket = (le: string, value: number, route = '/a') => series('h_bucket', { le, route }, value);
    const store = storeOf([[bucket('0.1', 50), bucket('0.5', 90), bucket('1', 100), bucket('+Inf', 100), bucket('+Inf', 0, '/b')]]);
    const result = values(run('histogram_quantile(0.95, h_bucket)', store, 0));
    expect(result['{"route":"/a"}']).toBeCloseTo(0.75, 10);
    expect(result['{"route":"/b"}']).toBeNaN();
    expect(values(run('histogram_quantile(0.5, h_bucket{route="/a"})', store, 0))).toEqual({ '{"route":"/a"}': 0.1 });
    expect(values(run('histogram_quantile(0.25, h_bucket{route="/a"})', store, 0))).toEqual({ '{"route":"/a"}': 0.05 });
    expect(bucketQuantile(1.5, [])).toBe(Number.POSITIVE_INFINITY);
    expect(bucketQuantile(-1, [])).toBe(Number.NEGATIVE_INFINITY);
    expect(bucketQuantile(Number.NaN, [])).toBeNaN();
    expect(bucketQuantile(0.5, [{ le: 1, count: 3 }])).toBeNaN(); // no +Inf bucket
    expect(
      bucketQuantile(0.99, [
        { le: 1, count: 3 },
        { le: Number.POSITIVE_INFINITY, count: 10 },
      ]),
    ).toBe(1); // in +Inf: the last finite bound
    expect(
      bucketQuantile(0.1, [
        { le: -1, count: 3 },
        { le: Number.POSITIVE_INFINITY, count: 10 },
      ]),
    ).toBe(-1);
    // Non-monotonic counts (buckets read at slightly different moments) are evened out.
    expect(
      bucketQuantile(0.5, [
        { le: 1, count: 6 },
        { le: 2, count: 4 },
        { le: Number.POSITIVE_INFINITY, count: 10 },
      ]),
    ).toBeCloseTo(5 / 6, 10);
  });
});
