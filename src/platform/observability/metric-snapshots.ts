// Every process's metrics, for the one alert evaluator of the cluster: each process writes a
// snapshot of its registry to Redis with a TTL (so a dead process drops out); the evaluator
// reads them all. In the embedded shape there is one process, so the snapshot stays in it.
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Metrics } from './metrics.ts';

/** One series of a snapshot: labels (the name as `__name__`, the process as `instance`) and its value. */
export interface MetricSample {
  labels: Record<string, string>;
  value: number;
}

export interface MetricSnapshotsOptions {
  metrics: Metrics;
  redis: Redis | undefined;
  keyPrefix: string;
  /** Publishing period; a snapshot lives three of them. */
  intervalMs: number;
  logger: Logger;
}

export class MetricSnapshots {
  /** This process (this platform) in every series it publishes, as Prometheus labels a scrape target. */
  readonly instance = `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
  readonly #options: MetricSnapshotsOptions;
  readonly #prefix: string;
  #timer: NodeJS.Timeout | undefined;
  #publishing: Promise<void> | undefined;

  constructor(options: MetricSnapshotsOptions) {
    this.#options = options;
    this.#prefix = `${options.keyPrefix}metrics:`;
  }

  /** This process's series now. */
  async local(): Promise<MetricSample[]> {
    const families = await this.#options.metrics.registry.getMetricsAsJSON();
    const samples: MetricSample[] = [];
    for (const family of families) {
      for (const value of family.values) {
        const labels: Record<string, string> = {
          __name__: (value as { metricName?: string }).metricName ?? family.name,
          instance: this.instance,
        };
        for (const [name, label] of Object.entries(value.labels)) if (label !== undefined) labels[name] = String(label);
        samples.push({ labels, value: value.value });
      }
    }
    return samples;
  }

  /** Scale shape: publishes a snapshot now and every interval, until stop. */
  start(): void {
    if (!this.#options.redis || this.#timer) return;
    const tick = () => {
      this.#publishing = this.publish().catch((error: unknown) =>
        this.#options.logger.warn({ err: error }, 'metric snapshot not published'),
      );
    };
    tick();
    this.#timer = setInterval(tick, this.#options.intervalMs);
    this.#timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#publishing;
  }

  async publish(): Promise<void> {
    const { redis, intervalMs } = this.#options;
    if (!redis) return;
    await redis.set(`${this.#prefix}${this.instance}`, JSON.stringify(await this.local()), 'PX', intervalMs * 3);
  }

  /**
   * Every live process's series: from Redis in the scale shape (this process's own taken
   * fresh), else this process's alone. Redis down: this process's alone, and a warning.
   */
  async cluster(): Promise<MetricSample[]> {
    const own = await this.local();
    const { redis } = this.#options;
    if (redis?.status !== 'ready') return own;
    const keys: string[] = [];
    let cursor = '0';
    do {
      const [next, found] = await redis.scan(cursor, 'MATCH', `${this.#prefix}*`, 'COUNT', 500);
      cursor = next;
      keys.push(...found.filter((key) => key !== `${this.#prefix}${this.instance}`));
    } while (cursor !== '0');
    if (keys.length === 0) return own;
    const snapshots = await redis.mget(keys);
    const samples = [...own];
    for (const snapshot of snapshots) if (snapshot) samples.push(...(JSON.parse(snapshot) as MetricSample[]));
    return samples;
  }
}
