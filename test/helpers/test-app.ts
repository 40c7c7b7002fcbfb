// Builds a real app (real PGlite or Postgres/Redis, real modules) for a test,
// with its log lines captured so tests can assert what operators would see.
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { type Config, loadConfig } from '../../src/config.ts';
import type { ModuleOptions } from '../../src/modules/index.ts';
import { createLogger } from '../../src/platform/observability/logger.ts';
import { type Platform, startPlatform } from '../../src/platform/platform.ts';
import { buildServer } from '../../src/roles/serve.ts';
import { deleteKeysAt } from './redis-keys.ts';
import { createTestDatabase, type ShapeName, scaleUrls, type TestDatabase } from './shapes.ts';

export interface TestApp {
  app: FastifyInstance;
  platform: Platform;
  config: Config;
  logs: Record<string, unknown>[];
  close(): Promise<void>;
}

export interface TestAppOptions {
  env?: Record<string, string>;
  /** Extra routes registered before the app is ready (e.g. a route that throws). */
  extend?: (app: FastifyInstance) => void | Promise<void>;
  modules?: ModuleOptions;
  /** Run job handlers (and the worker heartbeat) in this app; default true. */
  worker?: boolean;
  /** Reuse an existing scale-shape database instead of creating one. */
  databaseUrl?: string;
}

export function captureLogs(): { lines: Record<string, unknown>[]; stream: Writable } {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk, _encoding, callback) {
      for (const line of chunk.toString().split('\n')) if (line.trim()) lines.push(JSON.parse(line));
      callback();
    },
  });
  return { lines, stream };
}

export async function startTestApp(shape: ShapeName, options: TestAppOptions = {}): Promise<TestApp> {
  let database: TestDatabase | undefined;
  // A prefix of this app's own: its keys go when it closes (a prefix the test chose may be shared by several apps).
  let ownKeys: { url: string; prefix: string } | undefined;
  // Request limits high enough for a test file's traffic from one address; tests of the limits set their own.
  const env: Record<string, string> = {
    NODE_ENV: 'test',
    LOG_LEVEL: 'info',
    REGISTRATIONS_PER_IP_PER_HOUR: '10000',
    AUTH_RATE_LIMIT_PER_MINUTE: '10000',
    WRITE_RATE_LIMIT_PER_MINUTE: '10000',
    JOB_POLL_INTERVAL_SECONDS: '1',
    JOB_NOTIFY_POLL_INTERVAL_SECONDS: '1',
    // Load shedding trips on event-loop delay, which a busy 2-core machine running test files
    // in parallel (PGlite, Argon2id) produces by itself: only the shedding tests set a threshold.
    OVERLOAD_MAX_EVENT_LOOP_DELAY_MS: '0',
    UPLOAD_ROOT: mkdtempSync(join(tmpdir(), 'rampart-uploads-')),
    ...options.env,
  };
  if (shape === 'scale') {
    if (!scaleUrls) throw new Error('scale shape needs TEST_DATABASE_URL and TEST_REDIS_URL');
    if (options.databaseUrl) env.DATABASE_URL = options.databaseUrl;
    else {
      database = await createTestDatabase();
      env.DATABASE_URL = database.url;
    }
    env.REDIS_URL ??= scaleUrls.redis;
    // Counters of one test app must not leak into another's (or a previous run's).
    if (env.REDIS_KEY_PREFIX === undefined) {
      env.REDIS_KEY_PREFIX = `t${randomBytes(4).toString('hex')}:`;
      // Only on the test Redis (a test of an unreachable Redis points elsewhere, and wrote nothing).
      if (env.REDIS_URL === scaleUrls.redis) ownKeys = { url: env.REDIS_URL, prefix: env.REDIS_KEY_PREFIX };
    }
  }
  const config = loadConfig(env);
  const { lines, stream } = captureLogs();
  const logger = createLogger(config.logLevel, stream);
  const platform = await startPlatform(config, logger, { inMemory: true });
  const app = await buildServer(platform, { work: options.worker ?? true, modules: options.modules });
  await options.extend?.(app);
  await app.ready();
  return {
    app,
    platform,
    config,
    logs: lines,
    async close() {
      await app.close(); // stops the platform too
      await database?.drop();
      if (ownKeys) await deleteKeysAt(ownKeys.url, ownKeys.prefix);
    },
  };
}
