// The short cache of poll results: in process in the embedded shape (the consumer runs
// there too), in Redis in the scale shape, so a batch applied by a worker process
// invalidates what every API process serves. A cache that fails is a miss, never an error.
import { type Redis, ReplyError } from 'ioredis';

/** Counts as read from the database at `asOf`. */
export interface ResultsSnapshot {
  pollId: string;
  options: string[];
  counts: number[];
  rejected: number;
  closed: boolean;
  asOf: string;
}

export interface ResultsCache {
  get(pollId: string): Promise<ResultsSnapshot | undefined>;
  set(snapshot: ResultsSnapshot): Promise<void>;
  invalidate(pollIds: string[]): Promise<void>;
}

const MAX_ENTRIES = 10_000;

export class MemoryResultsCache implements ResultsCache {
  readonly #ttlMs: number;
  readonly #entries = new Map<string, { snapshot: ResultsSnapshot; expires: number }>();

  constructor(ttlMs: number) {
    this.#ttlMs = ttlMs;
  }

  async get(pollId: string): Promise<ResultsSnapshot | undefined> {
    const entry = this.#entries.get(pollId);
    if (!entry) return undefined;
    if (entry.expires > Date.now()) return entry.snapshot;
    this.#entries.delete(pollId);
    return undefined;
  }

  async set(snapshot: ResultsSnapshot): Promise<void> {
    if (this.#ttlMs === 0) return;
    if (this.#entries.size >= MAX_ENTRIES) this.#entries.clear();
    this.#entries.set(snapshot.pollId, { snapshot, expires: Date.now() + this.#ttlMs });
  }

  async invalidate(pollIds: string[]): Promise<void> {
    for (const id of pollIds) this.#entries.delete(id);
  }
}

/** Redis unreachable: the cache misses; Redis answering with an error is a bug and surfaces. */
function missOnOutage(error: unknown): undefined {
  if (error instanceof ReplyError) throw error;
  return undefined;
}

export class RedisResultsCache implements ResultsCache {
  readonly #redis: Redis;
  readonly #prefix: string;
  readonly #ttlMs: number;

  constructor(redis: Redis, keyPrefix: string, ttlMs: number) {
    this.#redis = redis;
    this.#prefix = `${keyPrefix}polls:results:`;
    this.#ttlMs = ttlMs;
  }

  async get(pollId: string): Promise<ResultsSnapshot | undefined> {
    const text = await this.#redis.get(this.#prefix + pollId).catch(missOnOutage);
    return text ? (JSON.parse(text) as ResultsSnapshot) : undefined;
  }

  async set(snapshot: ResultsSnapshot): Promise<void> {
    if (this.#ttlMs === 0) return;
    await this.#redis.set(this.#prefix + snapshot.pollId, JSON.stringify(snapshot), 'PX', this.#ttlMs).catch(missOnOutage);
  }

  async invalidate(pollIds: string[]): Promise<void> {
    if (pollIds.length === 0) return;
    // Unreachable: the entries expire within the TTL by themselves.
    await this.#redis.del(...pollIds.map((id) => this.#prefix + id)).catch(missOnOutage);
  }
}
