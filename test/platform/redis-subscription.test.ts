// keepSubscribed: a SUBSCRIBE that Redis refuses while the connection stays up is sent again
// after a doubling back-off on that same connection, until Redis confirms it; stop() ends the
// retries. The refusal is Redis's own (an ACL without channel rights) on a server of the test's own.
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedis, waitForRedis } from '../../src/platform/redis.ts';
import { keepSubscribed } from '../../src/platform/redis-subscription.ts';
import { type OwnRedis, startOwnRedis } from '../helpers/own-redis.ts';
import { scaleUrls } from '../helpers/shapes.ts';
import { eventually } from '../helpers/wait.ts';

describe.skipIf(!scaleUrls)('keepSubscribed', () => {
  let own: OwnRedis;
  beforeAll(async () => {
    own = await startOwnRedis();
  });
  afterAll(() => own?.stop());

  it('retries a refused SUBSCRIBE on the same connection with a growing back-off, until confirmed', async () => {
    const subscriber = createRedis(own.url, pino({ level: 'silent' }));
    const retries: number[] = [];
    let confirmations = 0;
    try {
      await waitForRedis(subscriber, 10_000);
      const connectionId = await subscriber.client('ID');
      await own.direct.acl('SETUSER', 'default', 'resetchannels');
      const subscription = keepSubscribed(subscriber, 'news', {
        confirmed: () => {
          confirmations += 1;
        },
        failed: (_error, retryInMs) => retries.push(retryInMs),
      });
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

      // Stopped while a retry waits: the retry is not sent.
      await own.direct.acl('SETUSER', 'default', 'resetchannels');
      const later = keepSubscribed(subscriber, 'later', {
        confirmed: () => {
          confirmations += 1;
        },
        failed: (_error, retryInMs) => retries.push(retryInMs),
      });
      await later.firstAttempt;
      later.stop();
      await own.direct.acl('SETUSER', 'default', 'allchannels');
      const failedSoFar = retries.length;
      await new Promise((resolve) => setTimeout(resolve, 2_500));
      expect(retries.length).toBe(failedSoFar);
      expect(confirmations).toBe(1);
      expect(await own.direct.pubsub('NUMSUB', 'later')).toEqual(['later', 0]);
    } finally {
      await own.direct.acl('SETUSER', 'default', 'allchannels');
      subscriber.disconnect();
    }
  });
});
