// The optional Redis client of the scale shape. It never queues commands while
// disconnected and times commands out fast, so a dead Redis costs a request milliseconds, not a hang.
import { Redis, ReplyError } from 'ioredis';
import type { Logger } from 'pino';

export function createRedis(url: string, logger: Logger): Redis {
  const client = new Redis(url, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 2_000,
    commandTimeout: 500,
    // ioredis's default sends a command again after a reconnect when the connection dropped
    // before its answer came; by then its caller may have had its timeout and answered (a vote
    // answered 503, then applied at the reconnect). What failed stays failed: the caller retries.
    autoResendUnfulfilledCommands: false,
    // Keep reconnecting forever, at most every 2 s: Redis coming back must heal us.
    retryStrategy: (attempt) => Math.min(attempt * 200, 2_000),
    lazyConnect: false,
  });
  let lastLogged = 0;
  client.on('error', (error) => {
    // A dead Redis emits an error per reconnect attempt; one line in 30 s is enough.
    const now = Date.now();
    if (now - lastLogged > 30_000) {
      lastLogged = now;
      logger.warn({ err: error }, 'redis unavailable');
    }
  });
  client.on('ready', () => logger.info('redis connected'));
  return client;
}

/**
 * Whether a failed command may have run on Redis all the same: it was written and its answer
 * never came (timed out, connection lost). Only ioredis's refusal to write to a connection that
 * is not ready, and a refusal Redis answered, prove it did not.
 */
export function commandMayHaveRun(error: unknown): boolean {
  if (error instanceof ReplyError) return false;
  return !(error instanceof Error && error.message.startsWith("Stream isn't writeable"));
}

/** Waits (bounded) for the first connection so readiness is right from the start; never throws. */
export async function waitForRedis(client: Redis, timeoutMs: number): Promise<boolean> {
  if (client.status === 'ready') return true;
  return new Promise((resolve) => {
    const timer = setTimeout(() => finish(false), timeoutMs);
    const onReady = () => finish(true);
    function finish(ready: boolean) {
      clearTimeout(timer);
      client.off('ready', onReady);
      resolve(ready);
    }
    client.once('ready', onReady);
  });
}
