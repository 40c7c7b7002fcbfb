// The realtime hub's subscription when its first SUBSCRIBE fails: it sends it again on the same
// connection after a back-off (and on every new connection), and readiness reports the fan-out
// down until Redis has confirmed it. Before, the hub subscribed once, at its first connection:
// a SUBSCRIBE refused, or cut off with its connection, left a process deaf to the others for
// good while readiness said ok; later, a refused one waited for a reconnect that might not come.
// The refusal here is Redis's own (an ACL without channel rights) on a server of the test's own.
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RealtimeHub } from '../../../src/platform/realtime/hub.ts';
import { createRedis, waitForRedis } from '../../../src/platform/redis.ts';
import { type RelayedOwnRedis, startRelayedOwnRedis } from '../../helpers/own-redis.ts';
import { scaleUrls } from '../../helpers/shapes.ts';
import { eventually } from '../../helpers/wait.ts';

describe.skipIf(!scaleUrls)('the realtime hub when its subscription fails', () => {
  let own: RelayedOwnRedis;
  beforeAll(async () => {
    own = await startRelayedOwnRedis();
  });
  afterAll(() => own?.stop());

  it('subscribes again on the same connection and on the next, and is not ready until subscribed', async () => {
    const logger = pino({ level: 'silent' });
    const listenerRedis = createRedis(own.relayedUrl, logger);
    const publisherRedis = createRedis(own.url, logger);
    const listener = new RealtimeHub(listenerRedis, 'hub:', logger);
    const publisher = new RealtimeHub(publisherRedis, 'hub:', logger);
    const heard: string[] = [];
    listener.attach({ event: (topic) => heard.push(topic), sessionsEnded: () => {} });
    const readiness = listener.readinessCheck(true);
    try {
      await Promise.all([waitForRedis(listenerRedis, 10_000), waitForRedis(publisherRedis, 10_000)]);
      await own.direct.acl('SETUSER', 'default', 'resetchannels');
      await listener.start();
      // Connected, its SUBSCRIBE answered NOPERM: not ready.
      const refused = await eventually(
        async () =>
          readiness?.check().then(
            () => 'ready',
            (error: Error) => (/not subscribed/.test(error.message) ? error.message : undefined),
          ),
        15_000,
      );
      expect(refused).toMatch(/connected but not subscribed/);
      // Redis has refused it (its ACL log has the denial), so what follows is the retry's doing.
      await eventually(async () => (((await own.direct.acl('LOG')) as unknown[]).length > 0 ? true : undefined), 15_000);

      const ready = () =>
        eventually(
          async () =>
            readiness?.check().then(
              () => true,
              () => false,
            ),
          15_000,
        );
      // Allowed again, with the connection left as it is: the retry subscribes.
      await own.direct.acl('SETUSER', 'default', 'allchannels');
      await ready();
      publisher.publish('documents:one', 'changed', {}, 'r1');
      await eventually(async () => heard.includes('documents:one'), 10_000);

      // A new connection subscribes too (pub/sub keeps nothing for a listener between
      // connections, so the event is sent until one arrives).
      own.relay.dropConnections();
      await eventually(async () => {
        publisher.publish('documents:two', 'changed', {}, 'r2');
        return heard.includes('documents:two');
      }, 15_000);
      await ready();
    } finally {
      await listener.stop();
      await publisher.stop();
      listenerRedis.disconnect();
      publisherRedis.disconnect();
    }
  });
});
