// The sessions behind recently seen tokens, kept in memory when this process is the only
// one that can change them (the embedded shape: DATA_DIR's lock admits one process).
// Every authenticated request looks its session up; on PGlite that query and its join
// cost about 1 ms of the event loop (bench/reads.ts), so at 1,000 reads/s it alone would
// fill the process. The repo clears the cache on every write to sessions or users, so a
// logout, revocation, password change or deactivation takes effect on the next request;
// the time limit only bounds what a write made outside the repo (the email backfill)
// could leave stale.
import type { SessionRow, UserRow } from './repo.ts';

export interface CachedSession {
  session: SessionRow;
  user: UserRow;
}

const MAX_ENTRIES = 10_000;
const MAX_AGE_MS = 30_000;

export class SessionCache {
  readonly #entries = new Map<string, { value: CachedSession; until: number }>();
  // A lookup that started before a write may finish after it: what it read is kept only if
  // no write began or ended in between.
  #generation = 0;

  /** Call before a lookup; pass the result to set(). */
  generation(): number {
    return this.#generation;
  }

  get(tokenHash: string): CachedSession | undefined {
    const entry = this.#entries.get(tokenHash);
    if (entry === undefined) return undefined;
    if (entry.until <= Date.now()) {
      this.#entries.delete(tokenHash);
      return undefined;
    }
    return entry.value;
  }

  set(tokenHash: string, value: CachedSession, readAt: number): void {
    if (readAt !== this.#generation) return;
    // Map keeps insertion order: past the bound, the oldest entry goes.
    if (this.#entries.size >= MAX_ENTRIES) this.#entries.delete(this.#entries.keys().next().value as string);
    this.#entries.set(tokenHash, { value, until: Date.now() + MAX_AGE_MS });
  }

  /** Around every write to users or sessions: before it (lookups under way lose their result) and after it. */
  invalidate(): void {
    this.#generation += 1;
    this.#entries.clear();
  }
}
