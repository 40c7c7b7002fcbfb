// The short cache of poll results: in process in the embedded shape (the consumer runs
// there too), in Redis in the scale shape, so a batch applied by a worker process
// invalidates what every API process serves. Invalidating bumps the poll's generation, and a
// snapshot counts only under the generation it was read in: a read that started before a
// batch committed cannot put stale counts back after the invalidation. A cache that fails
// is a miss, never an error.
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

export interface CacheRead {
  snapshot: ResultsSnapshot | undefined;
  /** The poll's generation when read: hand it back to set(). */
  generation: string;
}

export interface ResultsCache {
  get(pollId: string): Promise<CacheRead>;
  set(snapshot: ResultsSnapshot, generation: string): Promise<void>;
  invalidate(pollIds: string[]): Promise<void>;
}

const MAX_ENTRIES = 10_000;

export class MemoryResultsCache implements ResultsCache {
  readonly #ttlMs: number;
  readonly #entries = new Map<string, { snapshot: ResultsSnapshot; generation: string; expires: number }>();
  readonly #generations = new Map<string, number>();

  constructor(ttlMs: number) {
    this.#ttlMs = ttlMs;
  }

  async get(pollId: string): Promise<CacheRead> {
    const generation = String(this.#generations.get(pollId) ?? 0);
    const entry = this.#entries.get(pollId);
    if (entry && entry.expires > Date.now() && entry.generation === generation) return { snapshot: entry.snapshot, generation };
    return { snapshot: undefined, generation };
  }

  async set(snapshot: ResultsSnapshot, generation: string): Promise<void> {
    if (this.#ttlMs === 0 || String(this.#generations.get(snapshot.pollId) ?? 0) !== generation) return;
    if (this.#entries.size >= MAX_ENTRIES) {
      this.#entries.clear();
      this.#generations.clear();
    }
    this.#entries.set(snapshot.pollId, { snapshot, generation, expires: Date.now() + this.#ttlMs });
  }

  async invalidate(pollIds: string[]): Promise<void> {
    for (const id of pollIds) {
      this.#entries.delete(id);
      this.#generations.set(id, (this.#generations.get(id) ?? 0) + 1);
    }
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

  async get(pollId: string): Promise<CacheRead> {
    const read = await this.#redis.mget(this.#key(pollId), this.#generationKey(pollId)).catch(missOnOutage);
    const generation = read?.[1] ?? '0';
    const text = read?.[0];
    const stored = text ? (JSON.parse(text) as { snapshot: ResultsSnapshot; generation: string }) : undefined;
    return { snapshot: stored?.generation === generation ? stored.snapshot : undefined, generation };
  }

  async set(snapshot: ResultsSnapshot, generation: string): Promise<void> {
    if (this.#ttlMs === 0) return;
    const value = JSON.stringify({ snapshot, generation });
    await this.#redis.set(this.#key(snapshot.pollId), value, 'PX', this.#ttlMs).catch(missOnOutage);
  }

  async invalidate(pollIds: string[]): Promise<void> {
    if (pollIds.length === 0) return;
    const pipeline = this.#redis.pipeline();
    // The generation outlives any snapshot by far; it only has to differ from the one a reader saw.
    for (const id of pollIds) pipeline.incr(this.#generationKey(id)).pexpire(this.#generationKey(id), 86_400_000);
    // Unreachable: the snapshots expire within the TTL by themselves.
    await pipeline.exec().catch(missOnOutage);
  }

  #key(pollId: string): string {
    return `${this.#prefix}${pollId}`;
  }

  #generationKey(pollId: string): string {
    return `${this.#prefix}${pollId}:generation`;
  }
}
