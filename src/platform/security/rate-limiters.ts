// The one rate-limit engine (rate-limiter-flexible): counters live in Redis in the
// scale shape so every process shares them, in memory in the embedded shape. When Redis
// errors or is not connected, an in-memory insurance limiter keeps limiting.
import type { Redis } from 'ioredis';
import { type RateLimiterAbstract, RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import { AppError } from '../errors.ts';
import type { Metrics } from '../observability/metrics.ts';

export interface LimiterSpec {
  /** Namespaces the counters: one name per policy. */
  name: string;
  points: number;
  durationSeconds: number;
  /** Once over the limit, stay blocked this long (defaults to the window). */
  blockSeconds?: number;
}

/** Each limiter's rejection counter, so the helpers below count whoever calls them. */
const countRejection = new WeakMap<RateLimiterAbstract, () => void>();

export class RateLimiters {
  readonly #redis: Redis | undefined;
  readonly #keyPrefix: string;
  readonly #metrics: Pick<Metrics, 'rateLimitRejected'> | undefined;

  constructor(redis: Redis | undefined, keyPrefix: string, metrics?: Pick<Metrics, 'rateLimitRejected'>) {
    this.#redis = redis;
    this.#keyPrefix = keyPrefix;
    this.#metrics = metrics;
  }

  create(spec: LimiterSpec): RateLimiterAbstract {
    const limiter = this.#create(spec);
    const metrics = this.#metrics;
    if (metrics) countRejection.set(limiter, () => metrics.rateLimitRejected(spec.name));
    return limiter;
  }

  #create(spec: LimiterSpec): RateLimiterAbstract {
    const options = {
      keyPrefix: `${this.#keyPrefix}rl:${spec.name}`,
      points: spec.points,
      duration: spec.durationSeconds,
      blockDuration: spec.blockSeconds ?? 0,
    };
    if (!this.#redis) return new RateLimiterMemory(options);
    return new RateLimiterRedis({
      ...options,
      storeClient: this.#redis,
      rejectIfRedisNotReady: true,
      insuranceLimiter: new RateLimiterMemory(options),
    });
  }
}

export function retryAfterSeconds(result: RateLimiterRes): number {
  return Math.max(1, Math.ceil(result.msBeforeNext / 1000));
}

export function rateLimitedError(result: RateLimiterRes, message = 'Too many requests; try again later'): AppError {
  return new AppError('RATE_LIMITED', message, { headers: { 'retry-after': String(retryAfterSeconds(result)) } });
}

/**
 * Spends one point before costly work and returns the rejection when none was left.
 * consume is one atomic step (in memory, and a Lua script in Redis), so parallel callers
 * cannot all pass the way they can pass a read of the counter; the caller gives the
 * point back (reward) when the work turns out not to count.
 */
export async function reservePoint(limiter: RateLimiterAbstract, key: string): Promise<RateLimiterRes | undefined> {
  try {
    await limiter.consume(key);
    return undefined;
  } catch (rejection) {
    if (rejection instanceof RateLimiterRes) {
      countRejection.get(limiter)?.();
      return rejection;
    }
    throw rejection;
  }
}

/** Counts one event; an over-limit rejection is a normal outcome, not an error. */
export async function countEvent(limiter: RateLimiterAbstract, key: string): Promise<RateLimiterRes> {
  try {
    return await limiter.consume(key);
  } catch (rejection) {
    if (rejection instanceof RateLimiterRes) {
      countRejection.get(limiter)?.();
      return rejection;
    }
    throw rejection;
  }
}
