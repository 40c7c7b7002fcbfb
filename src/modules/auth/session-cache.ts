// Validated sessions kept in memory for SESSION_CACHE_MS, so an authenticated request
// need not read Postgres (the polls bench: that read was most of a vote's API and Postgres
// CPU). Every write to users or sessions (sign-out, revocation, deactivation, role or
// password change) empties the cache of the process that wrote and, in the scale shape,
// of every other process through Redis pub/sub. A process trusts its cache only while it
// can hear those messages: in the scale shape only while its subscriber connection is
// subscribed (down or reconnecting, every request reads the database, and what was cached
// before is dropped, since messages sent meanwhile are lost); in the embedded shape always
// (the DATA_DIR lock admits one process); in the scale shape without Redis never.
import { randomUUID } from 'node:crypto';
import { type Redis, ReplyError } from 'ioredis';
import type { Logger } from 'pino';
import { SingleWriterCache } from '../../platform/db/single-writer-cache.ts';
import { waitForRedis } from '../../platform/redis.ts';
import { keepSubscribed } from '../../platform/redis-subscription.ts';
import { type SessionReads, type SessionWithUser, sessionExpiry } from './repo.ts';

export type SessionCacheSync =
  /** One process writes users and sessions: invalidating in process is all there is to do. */
  | { kind: 'local' }
  /** Others write too and nothing tells us when: no caching at all. */
  | { kind: 'none' }
  | { kind: 'redis'; redis: Redis; channel: string; logger: Logger };

const MAX_ENTRIES = 10_000;

export class SessionCache implements SessionReads {
  readonly #ttlMs: number;
  readonly #sync: SessionCacheSync;
  // The generation guard (a read that overlapped an invalidation is not kept), the bound on
  // entries and the invalidation around a write are the single-writer cache's.
  readonly #entries: SingleWriterCache<SessionWithUser>;
  /** Messages this process published come back over Redis: the origin tells them apart. */
  readonly #origin = randomUUID();
  #live: boolean;
  #stopSubscription: (() => void) | undefined;
  #subscriber: Redis | undefined;

  constructor(ttlMs: number, sync: SessionCacheSync) {
    this.#ttlMs = ttlMs;
    this.#sync = sync;
    this.#entries = new SingleWriterCache({ maxEntries: MAX_ENTRIES, maxAgeMs: ttlMs });
    this.#live = sync.kind === 'local';
  }

  /** Whether cached sessions are trusted now (scale shape: the subscription is up). */
  get live(): boolean {
    return this.#live && this.#ttlMs > 0;
  }

  /** The cached session, or `load()`'s, which is kept until the cache lifetime or the session's own expiry, whichever is first. */
  async read(tokenHash: string, load: () => Promise<SessionWithUser | undefined>): Promise<SessionWithUser | undefined> {
    if (!this.live) return load();
    const now = Date.now();
    const cached = this.#entries.get(tokenHash);
    if (cached !== undefined) return cached;
    const readAt = this.#entries.generation();
    const value = await load();
    if (value === undefined || !this.live) return value;
    // Another process may slide the idle expiry: past the one we read, read again rather than refuse.
    this.#entries.set(tokenHash, value, readAt, Math.min(now + this.#ttlMs, sessionExpiry(value.session).getTime()));
    return value;
  }

  /**
   * Runs a write to users or sessions. Reads under way lose their result, nothing cached
   * here survives it, and once it is done every other process is told before this resolves,
   * so the response to a sign-out leaves after the message.
   */
  async writing<T>(write: () => Promise<T>): Promise<T> {
    try {
      return await this.#entries.writing(write);
    } finally {
      await this.#broadcast();
    }
  }

  /** Scale shape: subscribes to other processes' invalidations; until subscribed the cache is bypassed. */
  start(): void {
    const sync = this.#sync;
    if (sync.kind !== 'redis' || this.#subscriber) return;
    // Subscribed again by hand on every connection, so "live" means confirmed by Redis.
    const subscriber = sync.redis.duplicate({ autoResubscribe: false });
    this.#subscriber = subscriber;
    subscriber.on('message', (_channel: string, origin: string) => {
      if (origin !== this.#origin) this.#entries.invalidate();
    });
    subscriber.on('error', () => {}); // the main client logs Redis outages; one line is enough
    const dark = () => {
      this.#live = false;
      this.#entries.invalidate();
    };
    subscriber.on('close', dark);
    subscriber.on('end', dark);
    this.#stopSubscription = keepSubscribed(subscriber, sync.channel, {
      // Never after stop(): stop() ends the subscription before it lets go of the connection.
      confirmed: () => {
        // Whatever was read while we could not hear may be stale: start empty.
        this.#entries.invalidate();
        this.#live = true;
      },
      failed: (error, retryInMs) =>
        sync.logger.warn({ err: error, retry_in_ms: retryInMs }, 'session cache subscribe failed; sessions are read from the database'),
    }).stop;
  }

  async stop(): Promise<void> {
    this.#stopSubscription?.();
    this.#stopSubscription = undefined;
    const subscriber = this.#subscriber;
    this.#subscriber = undefined;
    if (this.#sync.kind === 'redis') this.#live = false;
    this.#entries.invalidate();
    subscriber?.disconnect();
  }

  async #broadcast(): Promise<void> {
    const sync = this.#sync;
    if (sync.kind !== 'redis') return;
    try {
      await sync.redis.publish(sync.channel, this.#origin);
    } catch (error) {
      if (error instanceof ReplyError) throw error; // Redis answered: a bug of ours, not an outage
      // The write stands, and the response does not wait for Redis. Who needs the message: a
      // process still subscribed while this one cannot reach Redis, holding entries for
      // SESSION_CACHE_MS at most; so it is sent again once Redis is back within that time.
      void this.#broadcastWhenBack(sync, Date.now() + this.#ttlMs, error);
    }
  }

  async #broadcastWhenBack(sync: Extract<SessionCacheSync, { kind: 'redis' }>, until: number, first: unknown): Promise<void> {
    const back = await waitForRedis(sync.redis, Math.max(0, until - Date.now()));
    // A second failure says no more than the first, which is logged below.
    const sent =
      back &&
      (await sync.redis.publish(sync.channel, this.#origin).then(
        () => true,
        () => false,
      ));
    if (sent) {
      sync.logger.warn({ err: first, event: 'auth.session_invalidation_sent_late' }, 'session change broadcast late, once Redis was back');
      return;
    }
    sync.logger.error(
      { err: first, event: 'auth.session_invalidation_not_sent' },
      'session change not broadcast: other processes may have accepted the old session until their cache entries expired',
    );
  }
}
