// Keeps a Redis subscriber connection subscribed to one channel, and says when Redis has
// confirmed it: SUBSCRIBE is sent on every connection, and one that fails while its connection
// stays up (a timeout on a stalled Redis, an ACL refusal) is sent again after a back-off
// instead of waiting for a reconnect that may never come.
import type { Redis } from 'ioredis';

export interface SubscriptionEvents {
  /** Redis confirmed the subscription on the current connection. */
  confirmed(): void;
  /** A SUBSCRIBE failed; `retryInMs` is when it is sent again on this connection. */
  failed(error: unknown, retryInMs: number): void;
}

const FIRST_RETRY_MS = 1_000;
const MAX_RETRY_MS = 30_000;

/**
 * Subscribes `subscriber` to `channel` on every 'ready', in place of ioredis's automatic
 * re-subscribe, which covers only channels Redis had confirmed and does not handle a failure.
 * `firstAttempt` settles once the SUBSCRIBE sent
 * now (when the connection is already up) has its answer; `stop` ends the retries.
 */
export function keepSubscribed(
  subscriber: Redis,
  channel: string,
  events: SubscriptionEvents,
): { firstAttempt: Promise<void>; stop(): void } {
  // ioredis's own re-subscribe at a reconnect leaves its promise unhandled: a refused or timed
  // out SUBSCRIBE there is an unhandled rejection, which ends a Node process.
  if (subscriber.options.autoResubscribe !== false) {
    throw new Error('keepSubscribed needs a connection made with autoResubscribe: false; it subscribes on every connection itself');
  }
  // A connection's number: a retry scheduled on one connection never runs on the next.
  let connection = 0;
  let retry: NodeJS.Timeout | undefined;
  let stopped = false;
  const cancelRetry = () => {
    clearTimeout(retry);
    retry = undefined;
  };
  const subscribe = (attempt: number): Promise<void> => {
    const on = connection;
    return subscriber.subscribe(channel).then(
      () => {
        if (!stopped && on === connection && subscriber.status === 'ready') events.confirmed();
      },
      (error: unknown) => {
        if (stopped || on !== connection) return;
        const retryInMs = Math.min(FIRST_RETRY_MS * 2 ** attempt, MAX_RETRY_MS);
        events.failed(error, retryInMs);
        cancelRetry();
        retry = setTimeout(() => {
          if (!stopped && on === connection && subscriber.status === 'ready') void subscribe(attempt + 1);
        }, retryInMs);
        retry.unref();
      },
    );
  };
  const onReady = () => {
    connection += 1;
    cancelRetry();
    return subscribe(0);
  };
  const onClosed = () => {
    connection += 1;
    cancelRetry();
  };
  subscriber.on('ready', onReady);
  subscriber.on('close', onClosed);
  return {
    firstAttempt: subscriber.status === 'ready' ? onReady() : Promise.resolve(),
    stop: () => {
      stopped = true;
      cancelRetry();
      subscriber.off('ready', onReady);
      subscriber.off('close', onClosed);
    },
  };
}
