// Starts and stops the shared infrastructure every role needs: the DATA_DIR lock,
// the database (migrated), Redis when configured, and the readiness registry.
import type { Redis } from 'ioredis';
import type pg from 'pg';
import type { Logger } from 'pino';
import { type Config, redactUrl } from '../config.ts';
import { type Database, openDatabase } from './db/database.ts';
import { lockDataDir, type ReleaseLock } from './db/lock.ts';
import { type DatabaseCapabilities, detectCapabilities, runMigrations } from './db/migrate.ts';
import { NotifiedCache } from './db/notified-cache.ts';
import { SingleWriterCache } from './db/single-writer-cache.ts';
import { ReadinessRegistry } from './health.ts';
import { Heartbeats } from './jobs/heartbeat.ts';
import { JobQueue } from './jobs/queue.ts';
import { createErrorReporter, type ErrorReporter } from './observability/error-reporting.ts';
import { MetricSnapshots } from './observability/metric-snapshots.ts';
import { Metrics } from './observability/metrics.ts';
import { RealtimeHub } from './realtime/hub.ts';
import { createRedis, waitForRedis } from './redis.ts';
import { RateLimiters } from './security/rate-limiters.ts';

const ROW_CACHE_ENTRIES = 10_000;

export interface Platform {
  readonly config: Config;
  readonly logger: Logger;
  readonly db: Database;
  readonly redis: Redis | undefined;
  readonly readiness: ReadinessRegistry;
  readonly rateLimiters: RateLimiters;
  readonly capabilities: DatabaseCapabilities;
  readonly jobs: JobQueue;
  /** This process's Prometheus metrics (served at /metrics, read by the alert evaluator). */
  readonly metrics: Metrics;
  /** Every process's metric snapshot (Redis in the scale shape), for the alert evaluator. */
  readonly metricSnapshots: MetricSnapshots;
  /** Sentry when SENTRY_DSN is set, else a reporter that does nothing. */
  readonly errorReporter: ErrorReporter;
  /** publish(topic, event, data) to every WebSocket subscriber on every process; ends sessions' sockets. */
  readonly realtime: RealtimeHub;
  /**
   * A read cache of rows kept up to `maxAgeMs` (0: none). Embedded: this process is the only
   * writer (the DATA_DIR lock admits one). Scale: others write too, so it trusts what it holds
   * only while it hears their writes (a NotifiedCache listening on `channel`, started by its
   * owner); with `maxAgeMs` 0 it caches nothing but its owner's writes are still announced.
   */
  rowCache<Value>(channel: string, maxAgeMs: number): SingleWriterCache<Value> | undefined;
  /**
   * Starts the job queue once every module has defined its job types; with `work`,
   * this process also runs the handlers and beats as a worker.
   */
  startJobs(role: string, work: boolean): Promise<void>;
  /** Closes Redis, the database and the lock, in that order. Safe to call twice. */
  stop(): Promise<void>;
}

export interface StartPlatformOptions {
  /** Embedded shape only: keep the database in memory (tests); no DATA_DIR lock is taken. */
  inMemory?: boolean;
  /** Apply pending migrations (every role but `worker` does). */
  migrate?: boolean;
  /** Connect to REDIS_URL (default true; `user create` needs no shared state). */
  redis?: boolean;
}

export async function startPlatform(config: Config, logger: Logger, options: StartPlatformOptions = {}): Promise<Platform> {
  const embedded = config.databaseUrl === undefined;
  let releaseLock: ReleaseLock | undefined;
  if (embedded && !options.inMemory) {
    releaseLock = await lockDataDir(config.dataDir, (error) => {
      // Someone else took DATA_DIR from under us: continuing would corrupt it.
      logger.fatal({ err: error }, 'lost the DATA_DIR lock; exiting');
      process.exit(1);
    });
  }
  const errorReporter = await createErrorReporter({ dsn: config.monitoring.sentryDsn, environment: config.nodeEnv, logger });
  let db: Database | undefined;
  try {
    logger.info(
      { shape: embedded ? 'embedded' : 'scale', database: embedded ? config.dataDir : redactUrl(config.databaseUrl) },
      'opening database',
    );
    db = await openDatabase({
      databaseUrl: config.databaseUrl,
      dataDir: embedded && !options.inMemory ? config.dataDir : undefined,
      poolMax: config.dbPoolMax,
      logger,
    });
    if (options.migrate ?? true) await runMigrations(db);
    const capabilities = await detectCapabilities(db);
    if (!capabilities.vector) logger.warn('the vector extension is not available: knowledge search runs lexical-only');
    const redis = config.redisUrl && (options.redis ?? true) ? createRedis(config.redisUrl, logger) : undefined;
    // Redis is optional at start: a dead one is reported by readiness, not fatal.
    if (redis && !(await waitForRedis(redis, 2_000))) logger.warn('redis not reachable at start-up; continuing without it');
    const readiness = new ReadinessRegistry(config.healthCheckTimeoutMs, (name, error) =>
      logger.warn({ err: error, component: name }, 'readiness check failed'),
    );
    const database = db;
    readiness.register({ name: 'database', critical: true, check: () => database.ping() });
    if (redis) {
      readiness.register({ name: 'redis', critical: config.redisRequired, check: async () => void (await redis.ping()) });
    }
    const pool = db.kind === 'postgres' ? (db.driver as pg.Pool) : undefined;
    const metrics = new Metrics({
      readiness: () => readiness.evaluate(),
      poolStats: pool && (() => ({ max: config.dbPoolMax, total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount })),
    });
    const metricSnapshots = new MetricSnapshots({
      metrics,
      redis,
      keyPrefix: config.redisKeyPrefix,
      intervalMs: config.monitoring.alertEvalIntervalMs,
      logger,
    });
    metricSnapshots.start();
    const realtime = new RealtimeHub(redis, config.redisKeyPrefix, logger);
    await realtime.start();
    const fanoutCheck = realtime.readinessCheck(config.redisRequired);
    if (fanoutCheck) readiness.register(fanoutCheck);
    const jobs = new JobQueue({
      db,
      databaseUrl: config.databaseUrl,
      logger,
      pollingIntervalSeconds: config.jobs.pollingIntervalSeconds,
      notifyPollingIntervalSeconds: config.jobs.notifyPollingIntervalSeconds,
      batchSize: config.jobs.batchSize,
      // Admins watch the queue live on the `jobs` topic.
      onStateChange: (change, requestId) => realtime.publish('jobs', `job.${change.state}`, change, requestId),
      metrics,
      onFinalFailure: (error, job) => errorReporter.jobFailed(error, job),
    });
    const heartbeats = new Heartbeats(db, redis, config.redisKeyPrefix, config.jobs.heartbeatGraceMs, logger);
    readiness.register({ name: 'worker', critical: true, check: () => heartbeats.assertFresh() });
    let jobsStarted = false;
    let stopped: Promise<void> | undefined;
    return {
      config,
      logger,
      db,
      redis,
      readiness,
      rateLimiters: new RateLimiters(redis, config.redisKeyPrefix, metrics),
      capabilities,
      jobs,
      metrics,
      metricSnapshots,
      errorReporter,
      realtime,
      rowCache: (channel, maxAgeMs) => {
        const bounds = { maxEntries: ROW_CACHE_ENTRIES, maxAgeMs };
        if (config.databaseUrl === undefined) return maxAgeMs === 0 ? undefined : new SingleWriterCache(bounds);
        // Scale shape: one with its cache off still announces this process's writes to the others.
        return new NotifiedCache({ ...bounds, databaseUrl: config.databaseUrl, channel, logger });
      },
      async startJobs(role, work) {
        await jobs.start();
        jobsStarted = true;
        if (!work) return;
        await jobs.work();
        heartbeats.start(role, config.jobs.heartbeatIntervalMs);
      },
      stop() {
        stopped ??= (async () => {
          if (jobsStarted) {
            await heartbeats.stop();
            await jobs.stop().catch((error: unknown) => logger.warn({ err: error }, 'job queue did not stop cleanly'));
          }
          await metricSnapshots.stop();
          await realtime.stop();
          if (redis) redis.disconnect();
          await database.close();
          await releaseLock?.();
          await errorReporter.close();
        })();
        return stopped;
      },
    };
  } catch (error) {
    await db?.close().catch(() => {});
    await releaseLock?.().catch(() => {});
    throw error;
  }
}
