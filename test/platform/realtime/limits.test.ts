// The gateway's limits over real sockets: connections per account and per process (1013),
// slow consumers (1013, memory bounded, others unaffected), peers that stop answering pings,
// and 1,000 connect/subscribe/disconnect cycles that leave nothing behind.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, registerAndLogin, type SignedIn } from '../../helpers/accounts.ts';
import { gatewayUrl, openSocket, refusedUpgrade, type TestSocket } from '../../helpers/sockets.ts';
import { startTestApp, type TestApp } from '../../helpers/test-app.ts';
import { eventually } from '../../helpers/wait.ts';

setFlagsFromString('--expose-gc');
const collectGarbage = runInNewContext('gc') as () => void;

describe('realtime limits', () => {
  let test: TestApp;
  let url: string;
  let user: SignedIn;

  beforeAll(async () => {
    test = await startTestApp('embedded', {
      env: {
        WS_MAX_CONNECTIONS_PER_ACCOUNT: '3',
        WS_MAX_CONNECTIONS: '1000',
        WS_MAX_BUFFERED_SIZE: '256kb',
        WS_PING_INTERVAL_MS: '60000',
        // 1,100 upgrades from one address within a minute: the edge's per-IP limit is not under test here.
        API_RATE_LIMIT_PER_MINUTE: '100000',
      },
    });
    url = await gatewayUrl(test.app);
    user = await registerAndLogin(test.app);
  });
  afterAll(async () => test?.close());

  const gateway = () => {
    const instance = test.app.realtimeGateway;
    if (!instance) throw new Error('no gateway');
    return instance;
  };

  it('closes a connection over WS_MAX_CONNECTIONS_PER_ACCOUNT with 1013; other accounts connect', async () => {
    const held = await Promise.all([1, 2, 3].map(() => openSocket(url, bearer(user.token))));
    const extra = await openSocket(url, bearer(user.token));
    const closed = await extra.closed;
    expect(closed).toEqual({ code: 1013, reason: 'over capacity: too many connections for this account' });
    const other = await registerAndLogin(test.app);
    const otherSocket = await openSocket(url, bearer(other.token));
    for (const socket of [...held, otherSocket]) socket.ws.close();
    await eventually(async () => gateway().stats().connections === 0);
  });

  it('closes a slow consumer with 1013 while its neighbours receive every event', async () => {
    const topic = 'jobs';
    const adminUser = await registerAndLogin(test.app);
    await test.platform.db.query("update users set role = 'admin' where id = $1", [adminUser.userId]);
    const fast = await openSocket(url, bearer(adminUser.token));
    const slow = await openSocket(url, bearer(adminUser.token));
    for (const socket of [fast, slow]) {
      socket.send({ op: 'subscribe', topic });
      await socket.next((frame) => frame.op === 'subscribed');
    }
    // The slow client stops reading: its kernel buffers fill, then the server's send buffer.
    const slowTcp = (slow.ws as unknown as { _socket: import('node:net').Socket })._socket;
    slowTcp.pause();
    const events = 3_000;
    const payload = 'x'.repeat(8 * 1024);
    let published = 0;
    // Published in slices of 80 KB, so the fast client (in this process) reads between them
    // and stays far below the bound while the slow one falls behind.
    while (published < events) {
      for (let slice = 0; slice < 10; slice += 1, published += 1)
        test.platform.realtime.publish(topic, 'load', { index: published, payload }, 'test');
      await new Promise((resolve) => setImmediate(resolve));
    }
    await eventually(async () => gateway().stats().slowConsumersClosed >= 1);
    await eventually(async () => fast.frames.filter((frame) => frame.event === 'load').length === events);
    const indexes = fast.frames.filter((frame) => frame.event === 'load').map((frame) => (frame.data as { index: number }).index);
    expect(indexes).toEqual([...Array(events).keys()]);
    slowTcp.resume();
    const closed = await slow.closed;
    expect(closed.code).toBe(1013);
    const metrics = await test.app.inject({ url: '/metrics' });
    expect(metrics.body).toMatch(/rampart_ws_drops_total\{reason="slow_consumer"\} 1\b/);
    expect(metrics.body).toMatch(/rampart_ws_messages_total\{direction="out"\} \d{4,}/);
    // The slow one got a bounded prefix, not everything (its buffer stopped growing at the bound).
    expect(slow.frames.filter((frame) => frame.event === 'load').length).toBeLessThan(events);
    fast.ws.close();
    await eventually(async () => gateway().stats().connections === 0);
  });

  it('terminates a peer that stops answering pings; closes sockets over WS_MAX_CONNECTIONS with 1013', async () => {
    const quick = await startTestApp('embedded', { env: { WS_PING_INTERVAL_MS: '200', WS_MAX_CONNECTIONS: '2' } });
    try {
      const quickUrl = await gatewayUrl(quick.app);
      const account = await registerAndLogin(quick.app);
      const silent = await openSocket(quickUrl, bearer(account.token), { autoPong: false });
      const answering = await openSocket(quickUrl, bearer(account.token));
      expect((await silent.closed).code).toBe(1006); // terminated: no close frame
      expect(quick.app.realtimeGateway?.stats().missedPongs).toBe(1);
      await new Promise((resolve) => setTimeout(resolve, 600));
      answering.send({ op: 'ping' });
      await answering.next((frame) => frame.op === 'pong');
      const second = await openSocket(quickUrl, bearer((await registerAndLogin(quick.app)).token));
      const third = await openSocket(quickUrl, bearer(account.token));
      expect(await third.closed).toEqual({ code: 1013, reason: 'over capacity: too many connections on this server' });
      for (const socket of [answering, second]) socket.ws.close();
    } finally {
      await quick.close();
    }
  });

  it('counts upgrades against the per-IP API limit: past it, 429 with Retry-After in the envelope', async () => {
    const limited = await startTestApp('embedded', { env: { API_RATE_LIMIT_PER_MINUTE: '3' } });
    try {
      const limitedUrl = await gatewayUrl(limited.app);
      const account = await registerAndLogin(limited.app);
      const refusals = [];
      for (let attempt = 0; attempt < 6; attempt += 1) {
        const refused = await refusedUpgrade(limitedUrl, bearer(account.token)).catch(() => undefined);
        if (refused) refusals.push(refused);
      }
      expect(refusals.length).toBeGreaterThan(0);
      const [first] = refusals;
      expect(first?.status).toBe(429);
      expect(first?.body.error_code).toBe('RATE_LIMITED');
      expect(Number(first?.headers['retry-after'])).toBeGreaterThan(0);
    } finally {
      await limited.close();
    }
  });

  it('leaves no connection, subscription, timer or listener behind after 1,000 cycles, and heap returns within 10 %', async () => {
    // One account per parallel lane: the file's per-account limit is 3.
    const lanes = await Promise.all([0, 1, 2, 3].map(() => registerAndLogin(test.app)));
    for (const lane of lanes) await test.platform.db.query("update users set role = 'admin' where id = $1", [lane.userId]);
    async function cycle(index: number): Promise<void> {
      const socket: TestSocket = await openSocket(url, bearer((lanes[index % 4] as SignedIn).token));
      socket.send({ op: 'subscribe', topic: 'jobs' });
      await socket.next((frame) => frame.op === 'subscribed');
      if (index % 2 === 0) {
        socket.ws.close(1000);
      } else {
        // The peer vanishes: its TCP socket is destroyed, no close frame.
        (socket.ws as unknown as { _socket: import('node:net').Socket })._socket.destroy();
      }
      await socket.closed;
    }
    const idle = async () => {
      const stats = gateway().stats();
      return stats.connections === 0 && stats.subscriptions === 0 && stats.timers === 0 && stats.listeners === 0 && stats.topics === 0;
    };
    // Warm up (JIT, pools), then measure.
    for (let index = 0; index < 100; index += 4) await Promise.all([0, 1, 2, 3].map((offset) => cycle(index + offset)));
    await eventually(idle);
    collectGarbage();
    const before = process.memoryUsage().heapUsed;
    for (let index = 0; index < 1_000; index += 4) await Promise.all([0, 1, 2, 3].map((offset) => cycle(index + offset)));
    await eventually(idle);
    const stats = gateway().stats();
    expect(stats).toMatchObject({ connections: 0, subscriptions: 0, topics: 0, accounts: 0, sessions: 0, timers: 0, listeners: 0 });
    // Replies of upgraded requests leave the in-flight set when their time budget passes.
    await new Promise((resolve) => setTimeout(resolve, 6_000));
    collectGarbage();
    const after = process.memoryUsage().heapUsed;
    expect(after).toBeLessThan(before * 1.1);
  });
});
