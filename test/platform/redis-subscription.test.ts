// keepSubscribed: a SUBSCRIBE that Redis refuses while the connection stays up is sent again
// after a doubling back-off on that same connection, until Redis confirms it; one refused at a
// reconnect is handled the same way; stop() ends the retries; and a connection with ioredis's
// own re-subscribe on is refused, since that re-subscribe leaves a refusal as an unhandled
// rejection, which ends a Node process (with it on, the reconnect test below ends with one).
// The refusals are Redis's own (an ACL without channel rights; Redis 7 also drops a
// subscriber whose rights are taken away) on a server of the test's own.
import type { Redis } from 'ioredis';
import pino from 'pino';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createRedis, waitForRedis } from '../../src/platform/redis.ts';
import { keepSubscribed } from '../../src/platform/redis-subscription.ts';
import { type OwnRedis, startOwnRedis } from '../helpers/own-redis.ts';
import { scaleUrls } from '../helpers/shapes.ts';
import { eventually } from '../helpers/wait.ts';

describe.skipIf(!scaleUrls)('keepSubscribed', () => {
  let own: OwnRedis;
  let client: Redis;
  let subscriber: Redis;
  let retries: number[];
  let confirmations: number;
  const events = {
    confirmed: () => {
      confirmations += 1;
    },
    failed: (_error: unknown, retryInMs: number) => {
      retries.push(retryInMs);
    },
  };

  beforeAll(async () => {
    own = await startOwnRedis();
  });
  afterAll(() => own?.stop());
  beforeEach(async () => {
    retries = [];
    confirmations = 0;
    client = createRedis(own.url, pino({ level: 'silent' }));
    subscriber = client.duplicate({ autoResubscribe: false });
    await waitForRedis(subscriber, 10_000);
  });
  afterEach(async () => {
    await own.direct.acl('SETUSER', 'default', 'allchannels');
    subscriber.disconnect();
    client.disconnect();
  });

  it('retries a refused SUBSCRIBE on the same connection with a growing back-off, until confirmed', async () => {
    const connectionId = await subscriber.client('ID');
    await own.direct.acl('SETUSER', 'default', 'resetchannels');
    const subscription = keepSubscribed(subscriber, 'news', events);
    await subscription.firstAttempt;
    expect(confirmations).toBe(0);
    await eventually(async () => retries.length >= 2, 15_000);
    expect(retries.slice(0, 2)).toEqual([1_000, 2_000]);

    await own.direct.acl('SETUSER', 'default', 'allchannels');
    await eventually(async () => confirmations === 1, 15_000);
    expect(await own.direct.pubsub('NUMSUB', 'news')).toEqual(['news', 1]);
    // Confirmed without a reconnect: the subscriber's first connection is still the one.
    expect(String(await own.direct.client('LIST'))).toMatch(new RegExp(`id=${connectionId} `));
    subscription.stop();
  });

  it('handles a SUBSCRIBE refused at a reconnect, and subscribes once allowed', async () => {
    const subscription = keepSubscribed(subscriber, 'news', events);
    await subscription.firstAttempt;
    expect(confirmations).toBe(1);
    // Redis 7 drops a subscriber whose channel rights are taken away; the reconnect's SUBSCRIBE is refused.
    await own.direct.acl('SETUSER', 'default', 'resetchannels');
    await eventually(async () => retries.length >= 1, 15_000);
    expect(confirmations).toBe(1);
    await own.direct.acl('SETUSER', 'default', 'allchannels');
    await eventually(async () => confirmations === 2, 15_000);
    expect(await own.direct.pubsub('NUMSUB', 'news')).toEqual(['news', 1]);
    subscription.stop();
  });

  it('sends no retry once stopped', async () => {
    await own.direct.acl('SETUSER', 'default', 'resetchannels');
    const subscription = keepSubscribed(subscriber, 'later', events);
    await subscription.firstAttempt;
    expect(retries).toEqual([1_000]);
    subscription.stop();
    await own.direct.acl('SETUSER', 'default', 'allchannels');
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    expect(retries).toEqual([1_000]);
    expect(confirmations).toBe(0);
    expect(await own.direct.pubsub('NUMSUB', 'later')).toEqual(['later', 0]);
  });

  it('refuses a connection that would also re-subscribe by itself', () => {
    expect(() => keepSubscribed(client, 'news', events)).toThrow(/autoResubscribe: false/);
  });
});
