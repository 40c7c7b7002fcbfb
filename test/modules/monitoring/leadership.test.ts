// One evaluator at a time: two evaluators on one database, one leads through the lease; when
// the leader dies without a word the other takes over once the lease runs out, restores the
// stored alert states and does not notify a firing alert twice. And the scale shape's cluster
// snapshot: a process sees the series every live process published to Redis.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AlertingRule, type Transition } from '../../../src/modules/monitoring/alerting.ts';
import { AlertEvaluator } from '../../../src/modules/monitoring/evaluator.ts';
import { MonitoringRepo } from '../../../src/modules/monitoring/repo.ts';
import { parseRuleFile } from '../../../src/modules/monitoring/rules.ts';
import { AppError } from '../../../src/platform/errors.ts';
import type { MetricSample } from '../../../src/platform/observability/metric-snapshots.ts';
import { scaleUrls, shapes } from '../../helpers/shapes.ts';
import { startTestApp, type TestApp } from '../../helpers/test-app.ts';
import { eventually } from '../../helpers/wait.ts';

const RULE = `groups:\n  - name: g\n    rules:\n      - alert: Broken\n        expr: broken > 0\n`;
const INTERVAL = 1000;

describe.each(shapes)('evaluator leadership (%s shape)', (shape) => {
  let t: TestApp;
  beforeAll(async () => {
    // The app's own evaluator is off (worker: false): the test drives two evaluators by hand.
    t = await startTestApp(shape, { worker: false });
  });
  afterAll(() => t.close());

  it('lets one evaluator lead; a dead leader is replaced after its lease and nothing is notified twice', async () => {
    let clock = Date.now();
    let samples: MetricSample[] = [{ labels: { __name__: 'broken', instance: 'p1' }, value: 1 }];
    const notified: { by: string; change: Transition }[] = [];
    const evaluator = (by: string) =>
      new AlertEvaluator({
        rules: parseRuleFile(RULE, 'rule.yml').map((rule) => new AlertingRule(rule)),
        repo: new MonitoringRepo(t.platform.db),
        snapshot: async () => samples,
        notify: async (transitions) => {
          for (const change of transitions) notified.push({ by, change });
        },
        countAlerts: () => {},
        intervalMs: INTERVAL,
        logger: t.platform.logger,
        now: () => clock,
      });
    const first = evaluator('first');
    const second = evaluator('second');
    await first.tick();
    await second.tick();
    expect([first.leading, second.leading]).toEqual([true, false]);
    expect(notified.map((each) => `${each.by}:${each.change.to}`)).toEqual(['first:firing']);
    // The first dies (no more ticks, no release). The second keeps recording and takes over
    // once the lease (one interval) has run out: within two intervals of the last renewal.
    const died = Date.now();
    await eventually(async () => {
      clock += INTERVAL;
      await second.tick();
      return second.leading;
    });
    expect(Date.now() - died).toBeLessThan(60_000);
    expect(notified.map((each) => `${each.by}:${each.change.to}`)).toEqual(['first:firing']);
    // It carries on from the stored state: the condition clears, and it is the one to resolve.
    samples = [];
    clock += INTERVAL;
    await second.tick();
    expect(notified.map((each) => `${each.by}:${each.change.to}`)).toEqual(['first:firing', 'second:resolved']);
    // A clean stop hands the lease back at once.
    await second.stop();
    const third = evaluator('third');
    await third.tick();
    expect(third.leading).toBe(true);
    await third.stop();
  });
});

describe.skipIf(!scaleUrls)('cluster snapshot (scale shape)', () => {
  let a: TestApp;
  let b: TestApp;
  beforeAll(async () => {
    const prefix = `t${Math.random().toString(16).slice(2, 10)}:`;
    a = await startTestApp('scale', { worker: false, env: { REDIS_KEY_PREFIX: prefix, ALERT_EVAL_INTERVAL: '500ms' } });
    b = await startTestApp('scale', { worker: false, env: { REDIS_KEY_PREFIX: prefix, ALERT_EVAL_INTERVAL: '500ms' } });
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
  });

  it("sees every live process's series, each with its instance, from Redis", async () => {
    await a.app.inject({ url: '/scan/only-on-a' });
    const seen = await eventually(async () => {
      const samples = await b.platform.metricSnapshots.cluster();
      const fromA = samples.find(
        (sample) =>
          sample.labels.__name__ === 'rampart_http_requests_total' &&
          sample.labels.instance === a.platform.metricSnapshots.instance &&
          sample.labels.route === 'unmatched',
      );
      return fromA && samples;
    });
    const instances = new Set(seen.map((sample) => sample.labels.instance));
    expect(instances).toEqual(new Set([a.platform.metricSnapshots.instance, b.platform.metricSnapshots.instance]));
    const key = `${a.config.redisKeyPrefix}metrics:${a.platform.metricSnapshots.instance}`;
    const ttl = await (a.platform.redis as NonNullable<typeof a.platform.redis>).pttl(key);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(1500);
  });
});

describe.skipIf(!scaleUrls)('a 5xx spike on an API-only process (scale shape)', () => {
  let api: TestApp;
  let worker: TestApp;
  beforeAll(async () => {
    const env = {
      REDIS_KEY_PREFIX: `t${Math.random().toString(16).slice(2, 10)}:`,
      ALERT_EVAL_INTERVAL: '500ms',
      ALERT_RULES_FILE: join(import.meta.dirname, '..', '..', 'fixtures', 'alert-rules', 'e2e.yml'),
    };
    worker = await startTestApp('scale', { env });
    // The API process runs no jobs and no loops: it only serves, and publishes its metrics.
    api = await startTestApp('scale', {
      env,
      worker: false,
      databaseUrl: worker.config.databaseUrl,
      extend: (app) => {
        app.get('/test/fail', { schema: { hide: true } }, async () => {
          throw new AppError('UNAVAILABLE', 'failing on purpose');
        });
      },
    });
  });
  afterAll(async () => {
    await api?.close();
    await worker?.close();
  });

  it('fires in the evaluator of another process', async () => {
    const firing = await eventually(async () => {
      await api.app.inject({ url: '/test/fail' });
      const [row] = await worker.platform.db.query<{ labels: Record<string, string> }>(
        "select labels from alert_states where rule = 'TestServerErrors' and state = 'firing'",
      );
      return row;
    });
    expect(firing.labels).toMatchObject({ alertname: 'TestServerErrors', route: '/test/fail' });
  });
});
