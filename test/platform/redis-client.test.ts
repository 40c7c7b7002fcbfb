// The platform's Redis client when a connection drops with a command in flight: the command
// fails once and is never sent again after the reconnect (ioredis's default would send it,
// and run a vote seconds after its caller answered 503). A server of the test's own holds the
// command (CLIENT PAUSE WRITE) and a relay drops the connection under it.
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { commandMayHaveRun, createRedis, waitForRedis } from '../../src/platform/redis.ts';
import { type RelayedOwnRedis, startRelayedOwnRedis } from '../helpers/own-redis.ts';
import { freePort } from '../helpers/processes.ts';
import { scaleUrls } from '../helpers/shapes.ts';
import { eventually } from '../helpers/wait.ts';

describe.skipIf(!scaleUrls)('the Redis client across a dropped connection', () => {
  let own: RelayedOwnRedis;
  beforeAll(async () => {
    own = await startRelayedOwnRedis();
  });
  afterAll(() => own?.stop());

  it('does not send a command again after a reconnect once its caller had the failure', async () => {
    const client = createRedis(own.relayedUrl, pino({ level: 'silent' }));
    try {
      expect(await waitForRedis(client, 10_000)).toBe(true);
      // Held by Redis (no timing assumption: the pause outlasts any stall of this machine).
      await own.direct.client('PAUSE', 30_000, 'WRITE');
      const held = client.set('written-late', 'yes');
      await eventually(async () => / flags=b .* cmd=set /.test(String(await own.direct.client('LIST'))) || undefined, 10_000);
      own.relay.dropConnections();
      const failure = await held.then(
        () => undefined,
        (error: unknown) => error,
      );
      expect(failure).toBeInstanceOf(Error);
      expect(commandMayHaveRun(failure)).toBe(true);
      // Reconnected: a command sent again would now sit, held, ahead of the read below on the
      // same connection, and run before it once the pause is lifted.
      await eventually(async () => client.status === 'ready', 10_000);
      await own.direct.client('UNPAUSE');
      expect(await client.get('written-late')).toBeNull();
    } finally {
      client.disconnect();
    }
  });

  it('refuses a command before writing it while the connection is not up', async () => {
    const client = createRedis(`redis://127.0.0.1:${await freePort()}`, pino({ level: 'silent' }));
    try {
      const refused = await client.get('x').catch((error: unknown) => error);
      expect(refused).toBeInstanceOf(Error);
      expect(commandMayHaveRun(refused)).toBe(false);
    } finally {
      client.disconnect();
    }
  });
});
