// Worker liveness: each worker beats every few seconds into Redis (scale shape, a sorted
// set scored by time) and into the worker_heartbeats table (always, and the fallback when
// Redis is down), and readiness fails when no worker beat within the grace period.
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Database } from '../db/database.ts';

export class Heartbeats {
  readonly workerId = `${process.pid}-${randomUUID().slice(0, 8)}`;
  readonly #db: Database;
  readonly #redis: Redis | undefined;
  readonly #key: string;
  readonly #graceMs: number;
  readonly #logger: Logger;
  #timer: NodeJS.Timeout | undefined;

  constructor(db: Database, redis: Redis | undefined, keyPrefix: string, graceMs: number, logger: Logger) {
    this.#db = db;
    this.#redis = redis;
    this.#key = `${keyPrefix}worker-heartbeats`;
    this.#graceMs = graceMs;
    this.#logger = logger;
  }

  async beat(role: string): Promise<void> {
    const now = Date.now();
    const writes: Promise<unknown>[] = [
      this.#db.query(
        'insert into worker_heartbeats (worker_id, role, beat_at) values ($1, $2, now()) on conflict (worker_id) do update set beat_at = now()',
        [this.workerId, role],
      ),
    ];
    if (this.#redis) {
      writes.push(
        this.#redis
          .multi()
          .zadd(this.#key, now, this.workerId)
          .zremrangebyscore(this.#key, 0, now - 10 * this.#graceMs)
          // A deployment whose workers are all gone leaves nothing behind.
          .pexpire(this.#key, 10 * this.#graceMs)
          .exec(),
      );
    }
    const results = await Promise.allSettled(writes);
    for (const result of results) if (result.status === 'rejected') this.#logger.warn({ err: result.reason }, 'heartbeat write failed');
  }

  start(role: string, intervalMs: number): void {
    void this.beat(role);
    this.#timer = setInterval(() => void this.beat(role), intervalMs);
    this.#timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#db.query('delete from worker_heartbeats where worker_id = $1', [this.workerId]).catch(() => {});
    await this.#redis?.zrem(this.#key, this.workerId).catch(() => {});
  }

  /** Throws unless some worker beat within the grace period. */
  async assertFresh(): Promise<void> {
    const stale = () => new Error(`no worker heartbeat in the last ${this.#graceMs} ms`);
    // undefined: Redis is unreachable, and the table answers instead.
    const fromRedis = await this.#redis?.zrangebyscore(this.#key, Date.now() - this.#graceMs, '+inf', 'LIMIT', 0, 1).catch(() => undefined);
    if (fromRedis) {
      if (fromRedis.length > 0) return;
      throw stale();
    }
    const rows = await this.#db.query(
      "select 1 from worker_heartbeats where beat_at > now() - ($1::int * interval '1 millisecond') limit 1",
      [this.#graceMs],
    );
    if (rows.length === 0) throw stale();
  }
}
