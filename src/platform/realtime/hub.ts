// The realtime fan-out: `publish(topic, event, data)` from any process (a route, a job, a
// loop) reaches the gateway of every process, and so does the end of a session, so each
// process can close that session's sockets. Redis pub/sub in the scale shape; in-process in
// the embedded shape. Delivery is at most once, like pub/sub itself: an event published
// while Redis is down reaches this process's sockets only (see the README, "Realtime").
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { ReadinessCheck } from '../health.ts';
import { keepSubscribed } from '../redis-subscription.ts';

/** What the gateway of this process does with what the hub receives. */
export interface RealtimeDelivery {
  /** An `event` frame for every subscriber of `topic`, serialized once. */
  event(topic: string, frame: string): void;
  /** These sessions ended (logout, revocation, deactivation): their sockets close with 4401. */
  sessionsEnded(sessionIds: readonly string[]): void;
}

export interface HubStats {
  published: number;
  received: number;
  /** Events that could not reach other processes (Redis down): at most once. */
  dropped: number;
}

// One channel carries both kinds; a message is `<kind><origin>\n<topic>\n<payload>`, so the
// frame a publisher serialized crosses Redis as it is (no second JSON encoding per message).
const EVENT = 'E';
const SESSIONS_ENDED = 'S';
const LOG_INTERVAL_MS = 30_000;

export class RealtimeHub {
  readonly #redis: Redis | undefined;
  readonly #channel: string;
  readonly #logger: Logger;
  /** Messages this process published come back over Redis: the origin tells them apart. */
  readonly #origin = randomUUID();
  #subscriber: Redis | undefined;
  /** Redis confirmed the subscription on the current connection. */
  #subscribed = false;
  #stopSubscription: (() => void) | undefined;
  #delivery: RealtimeDelivery | undefined;
  #lastDropLogged = 0;
  readonly #stats: HubStats = { published: 0, received: 0, dropped: 0 };

  constructor(redis: Redis | undefined, keyPrefix: string, logger: Logger) {
    this.#redis = redis;
    this.#channel = `${keyPrefix}realtime`;
    this.#logger = logger;
  }

  /** Subscribes to the channel (scale shape). Never throws: a dead Redis is readiness's to report. */
  async start(): Promise<void> {
    if (!this.#redis || this.#subscriber) return;
    const subscriber = this.#redis.duplicate({ autoResubscribe: false });
    this.#subscriber = subscriber;
    subscriber.on('message', (_channel: string, message: string) => this.#receive(message));
    subscriber.on('error', () => {}); // the main client logs Redis outages; one line is enough
    subscriber.on('close', () => {
      this.#subscribed = false;
    });
    const subscription = keepSubscribed(subscriber, this.#channel, {
      confirmed: () => {
        this.#subscribed = true;
      },
      failed: (error, retryInMs) => this.#logger.warn({ err: error, retry_in_ms: retryInMs }, 'realtime subscribe failed; retrying'),
    });
    this.#stopSubscription = subscription.stop;
    await subscription.firstAttempt;
  }

  async stop(): Promise<void> {
    this.#stopSubscription?.();
    this.#stopSubscription = undefined;
    const subscriber = this.#subscriber;
    this.#subscriber = undefined;
    this.#subscribed = false;
    subscriber?.disconnect();
  }

  /** The fan-out channel, in the scale shape: events from other processes arrive only through it. */
  readinessCheck(critical: boolean): ReadinessCheck | undefined {
    if (!this.#redis) return undefined;
    return {
      name: 'realtime_fanout',
      critical,
      check: async () => {
        const subscriber = this.#subscriber;
        if (subscriber?.status !== 'ready') throw new Error('the realtime subscriber is not connected to Redis');
        if (!this.#subscribed) throw new Error('the realtime subscriber is connected but not subscribed yet');
      },
    };
  }

  /** The gateway of this process receives from now on; the result detaches it. */
  attach(delivery: RealtimeDelivery): () => void {
    if (this.#delivery) throw new Error('a realtime gateway is already attached to this hub');
    this.#delivery = delivery;
    return () => {
      if (this.#delivery === delivery) this.#delivery = undefined;
    };
  }

  /**
   * Sends `event` with `data` to every subscriber of `topic` on every process. `requestId`
   * is the request (or job) that caused it; it travels in the frame. Never throws.
   */
  publish(topic: string, event: string, data: unknown, requestId: string): void {
    const frame = JSON.stringify({ op: 'event', topic, event, data, request_id: requestId, at: new Date().toISOString() });
    this.#stats.published += 1;
    // This process first and directly: its subscribers do not depend on Redis.
    this.#delivery?.event(topic, frame);
    this.#broadcast(`${EVENT}${this.#origin}\n${topic}\n${frame}`);
  }

  /** Closes the sockets of these sessions on every process (4401). Never throws. */
  endSessions(sessionIds: readonly string[]): void {
    if (sessionIds.length === 0) return;
    this.#delivery?.sessionsEnded(sessionIds);
    this.#broadcast(`${SESSIONS_ENDED}${this.#origin}\n\n${JSON.stringify(sessionIds)}`);
  }

  stats(): HubStats {
    return { ...this.#stats };
  }

  #broadcast(message: string): void {
    if (!this.#redis) return;
    this.#redis.publish(this.#channel, message).catch((error: unknown) => {
      this.#stats.dropped += 1;
      const now = Date.now();
      if (now - this.#lastDropLogged > LOG_INTERVAL_MS) {
        this.#lastDropLogged = now;
        this.#logger.warn({ err: error, dropped: this.#stats.dropped }, 'realtime message not fanned out to other processes');
      }
    });
  }

  #receive(message: string): void {
    const kind = message[0];
    const originEnd = message.indexOf('\n');
    const topicEnd = message.indexOf('\n', originEnd + 1);
    if (originEnd < 0 || topicEnd < 0 || message.slice(1, originEnd) === this.#origin) return;
    this.#stats.received += 1;
    const delivery = this.#delivery;
    if (!delivery) return;
    if (kind === EVENT) delivery.event(message.slice(originEnd + 1, topicEnd), message.slice(topicEnd + 1));
    else if (kind === SESSIONS_ENDED) delivery.sessionsEnded(parseSessionIds(message.slice(topicEnd + 1)));
  }
}

function parseSessionIds(payload: string): string[] {
  let ids: unknown;
  try {
    ids = JSON.parse(payload);
  } catch (error) {
    // Only our processes publish here; a message that is not JSON is someone else's on a shared prefix.
    if (error instanceof SyntaxError) return [];
    throw error;
  }
  return Array.isArray(ids) ? ids.filter((id): id is string => typeof id === 'string') : [];
}
