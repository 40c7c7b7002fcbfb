// Rows kept in memory by the one process that can change them: the embedded shape, where
// DATA_DIR's lock admits a single process. A parameterised PGlite query runs on the event
// loop and costs 0.4 to 1.2 ms through Drizzle (bench/reads.ts), so a read that every
// request repeats (the caller's session, the document being read) fills the process at a
// few hundred requests a second. The repo that owns a cache runs every write that could
// change a cached row inside `writing()` (inserts of new rows cannot, and a session's
// touch updates the cached object itself), so the next read after a write sees it; the
// age limit is a second bound, not the mechanism. A write inside a transaction is safe
// because PGlite runs no other query until that transaction ends: a read that waited
// for it reads the committed row and, having started after the write's invalidation, may
// cache it. Two caches add what several processes need: the auth module's session cache
// (modules/auth/session-cache.ts, a Redis broadcast of each write) and the NotifiedCache
// (notified-cache.ts, a Postgres notification sent inside each writing transaction).

export interface SingleWriterCacheOptions {
  maxEntries: number;
  maxAgeMs: number;
}

export class SingleWriterCache<Value> {
  readonly #entries = new Map<string, { value: Value; until: number }>();
  readonly #options: SingleWriterCacheOptions;
  // A read that started before a write may finish after it: what it read is kept only if
  // no write began or ended in between.
  #generation = 0;

  constructor(options: SingleWriterCacheOptions) {
    this.#options = options;
  }

  get(key: string): Value | undefined {
    const entry = this.#entries.get(key);
    if (entry === undefined) return undefined;
    if (entry.until <= Date.now()) {
      this.#entries.delete(key);
      return undefined;
    }
    return entry.value;
  }

  /** Call before a read; pass the result to set(). */
  generation(): number {
    return this.#generation;
  }

  /** `until` (epoch ms) replaces the age limit for this entry when the caller knows an earlier end. */
  set(key: string, value: Value, readAt: number, until = Date.now() + this.#options.maxAgeMs): void {
    if (readAt !== this.#generation) return;
    // Map keeps insertion order: past the bound, the oldest entry goes.
    if (this.#entries.size >= this.#options.maxEntries) this.#entries.delete(this.#entries.keys().next().value as string);
    this.#entries.set(key, { value, until });
  }

  /** Runs a write to the cached tables: reads under way lose their result, and nothing cached survives it. */
  async writing<T>(write: () => Promise<T>): Promise<T> {
    this.invalidate();
    try {
      return await write();
    } finally {
      this.invalidate();
    }
  }

  /** Nothing cached survives, and reads under way lose their result (a write elsewhere was announced). */
  invalidate(): void {
    this.#generation += 1;
    this.#entries.clear();
  }
}

/** Through a repo: a cache where the process is the only writer, else nothing to consult. */
export async function cachedRead<Value>(
  cache: SingleWriterCache<Value> | undefined,
  key: string,
  read: () => Promise<Value | undefined>,
): Promise<Value | undefined> {
  const cached = cache?.get(key);
  if (cached !== undefined) return cached;
  const readAt = cache?.generation() ?? 0;
  const value = await read();
  if (value !== undefined) cache?.set(key, value, readAt);
  return value;
}

/** A write through an optional cache. */
export function cachedWrite<T>(cache: SingleWriterCache<unknown> | undefined, write: () => Promise<T>): Promise<T> {
  return cache ? cache.writing(write) : write();
}
