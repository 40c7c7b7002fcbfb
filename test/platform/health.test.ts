// Liveness and readiness: per-component reports, module checks, and Postgres or Redis going down and coming back.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, scaleUrls, shapes, type TestDatabase } from '../helpers/shapes.ts';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.ts';
import { startTestApp, type TestApp } from '../helpers/test-app.ts';

async function eventually(assertion: () => Promise<void>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await assertion();
      return;
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
}

describe.each(shapes)('health (%s shape)', (shape) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp(shape);
  });
  afterAll(() => t.close());

  it('is live and ready, reporting each component', async () => {
    const live = await t.app.inject({ url: '/health/live' });
    expect(live.statusCode).toBe(200);
    expect(live.json()).toEqual({ status: 'live' });
    const ready = await t.app.inject({ url: '/health/ready' });
    expect(ready.statusCode).toBe(200);
    expect(ready.headers['x-request-id']).toBeTruthy();
    const body = ready.json();
    expect(body.status).toBe('ready');
    expect(body.checks.database.status).toBe('ok');
    if (shape === 'scale') expect(body.checks.redis.status).toBe('ok');
  });

  it('lets a module add a readiness check without touching health code', async () => {
    let healthy = false;
    t.platform.readiness.register({
      name: 'model_api',
      critical: true,
      check: async () => {
        if (!healthy) throw new Error('model api down');
      },
    });
    expect((await t.app.inject({ url: '/health/ready' })).statusCode).toBe(503);
    healthy = true;
    const ready = await t.app.inject({ url: '/health/ready' });
    expect(ready.statusCode).toBe(200);
    expect(ready.json().checks.model_api.status).toBe('ok');
  });
});

describe.runIf(scaleUrls)('dependencies going away (scale shape)', () => {
  let database: TestDatabase;
  let postgresProxy: TcpProxy;
  let redisProxy: TcpProxy;
  let t: TestApp;
  beforeAll(async () => {
    database = await createTestDatabase();
    const pgUrl = new URL(database.url);
    const redisUrl = new URL(scaleUrls?.redis ?? '');
    postgresProxy = await startTcpProxy(pgUrl.hostname, Number(pgUrl.port || 5432));
    redisProxy = await startTcpProxy(redisUrl.hostname, Number(redisUrl.port || 6379));
    pgUrl.port = String(postgresProxy.port);
    redisUrl.port = String(redisProxy.port);
    t = await startTestApp('scale', { databaseUrl: pgUrl.toString(), env: { REDIS_URL: redisUrl.toString() } });
  });
  afterAll(async () => {
    await t.close();
    await postgresProxy.close();
    await redisProxy.close();
    await database.drop();
  });

  it('turns not ready while Postgres is down, keeps running, and recovers by itself', async () => {
    expect((await t.app.inject({ url: '/health/ready' })).statusCode).toBe(200);
    await postgresProxy.cut();
    await eventually(async () => {
      const response = await t.app.inject({ url: '/health/ready' });
      expect(response.statusCode).toBe(503);
      expect(response.json().checks.database.status).toBe('error');
    });
    expect((await t.app.inject({ url: '/health/live' })).statusCode).toBe(200);
    // A request that needs the database gets 503 UNAVAILABLE in the envelope, not a 500.
    const needsDb = await t.app.inject({ url: '/api/v1/auth/me', headers: { authorization: `Bearer ${'a'.repeat(43)}` } });
    expect(needsDb.statusCode).toBe(503);
    expect(needsDb.json().error_code).toBe('UNAVAILABLE');
    expect(needsDb.headers['retry-after']).toBeDefined();
    await postgresProxy.restore();
    await eventually(async () => expect((await t.app.inject({ url: '/health/ready' })).statusCode).toBe(200));
  });

  it('reports Redis down but stays ready unless REDIS_REQUIRED', async () => {
    await redisProxy.cut();
    await eventually(async () => {
      const response = await t.app.inject({ url: '/health/ready' });
      expect(response.statusCode).toBe(200);
      expect(response.json().checks.redis.status).toBe('error');
    });
    await redisProxy.restore();
    await eventually(async () => expect((await t.app.inject({ url: '/health/ready' })).json().checks.redis.status).toBe('ok'));
  });
});

describe.runIf(scaleUrls)('REDIS_REQUIRED=true', () => {
  it('is not ready when Redis is unreachable', async () => {
    const t = await startTestApp('scale', { env: { REDIS_URL: 'redis://127.0.0.1:1', REDIS_REQUIRED: 'true' } });
    try {
      const response = await t.app.inject({ url: '/health/ready' });
      expect(response.statusCode).toBe(503);
      expect(response.json().checks.redis.status).toBe('error');
    } finally {
      await t.close();
    }
  });
});
