// The admin metrics overview in both shapes: real requests (some answered 5xx) become points
// of request rate, 5xx ratio and p95 latency; admins only. And histogram_quantile's arithmetic.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { histogramQuantile } from '../../../src/modules/monitoring/overview.ts';
import { AppError } from '../../../src/platform/errors.ts';
import { bearer, registerAndLogin } from '../../helpers/accounts.ts';
import { shapes } from '../../helpers/shapes.ts';
import { startTestApp, type TestApp } from '../../helpers/test-app.ts';
import { eventually } from '../../helpers/wait.ts';

interface Point {
  at: string;
  request_rate: number;
  error_ratio: number | null;
  p95_ms: number | null;
}

describe.each(shapes)('metrics overview (%s shape)', (shape) => {
  let t: TestApp;
  let admin: Record<string, string>;
  let user: Record<string, string>;
  beforeAll(async () => {
    t = await startTestApp(shape, {
      env: { ALERT_EVAL_INTERVAL: '300ms' },
      extend: (app) => {
        app.get('/test/fail', { schema: { hide: true } }, async () => {
          throw new AppError('UNAVAILABLE', 'failing on purpose');
        });
      },
    });
    const adminAccount = await registerAndLogin(t.app);
    await t.platform.db.query("update users set role = 'admin' where id = $1", [adminAccount.userId]);
    admin = bearer(adminAccount.token);
    user = bearer((await registerAndLogin(t.app)).token);
  });
  afterAll(() => t?.close());

  const overview = async () => (await t.app.inject({ url: '/api/v1/admin/metrics/overview', headers: admin })).json();

  it('turns requests and 5xx answers into points an admin reads', async () => {
    const points = await eventually(async () => {
      // Traffic in every step until a step has seen both kinds of answer.
      await Promise.all([
        t.app.inject({ url: '/test/fail' }),
        t.app.inject({ url: '/health/live' }),
        t.app.inject({ url: '/health/live' }),
      ]);
      const page = await overview();
      const seen = (page.points as Point[]).filter((point) => point.error_ratio !== null && point.error_ratio > 0);
      return seen.length > 0 ? (page.points as Point[]) : undefined;
    });
    const busy = points.find((point) => point.error_ratio !== null && point.error_ratio > 0) as Point;
    expect(busy.request_rate).toBeGreaterThan(0);
    expect(busy.error_ratio).toBeLessThan(1);
    expect(busy.p95_ms).toBeGreaterThan(0);
    // Oldest first, one per step, never older than the hour the page says it covers.
    const page = await overview();
    expect(page.step_seconds).toBe(0.3);
    expect(page.window_seconds).toBe(3600);
    const times = (page.points as Point[]).map((point) => Date.parse(point.at));
    expect(times).toEqual([...times].sort((a, b) => a - b));
  });

  it('is for admins only', async () => {
    expect((await t.app.inject({ url: '/api/v1/admin/metrics/overview', headers: user })).json().error_code).toBe('FORBIDDEN');
    expect((await t.app.inject({ url: '/api/v1/admin/metrics/overview' })).statusCode).toBe(401);
  });
});

describe('histogramQuantile', () => {
  it('interpolates inside the bucket holding the rank, as Prometheus does', () => {
    // 100 observations: 50 under 0.1 s, 40 more under 0.5 s, 10 more under 1 s.
    const buckets = new Map([
      [0.1, 50],
      [0.5, 90],
      [1, 100],
      [Number.POSITIVE_INFINITY, 100],
    ]);
    expect(histogramQuantile(0.5, buckets)).toBeCloseTo(0.1);
    expect(histogramQuantile(0.95, buckets)).toBeCloseTo(0.75);
    expect(histogramQuantile(0.95, new Map([[Number.POSITIVE_INFINITY, 0]]))).toBeNull();
    // Past the last finite bound, the answer is that bound.
    expect(
      histogramQuantile(
        0.99,
        new Map([
          [0.1, 1],
          [Number.POSITIVE_INFINITY, 10],
        ]),
      ),
    ).toBe(0.1);
  });
});
