// The WebSocket gateway over real sockets, in both shapes: who may upgrade (token, cookie
// and Origin), the protocol's ops and errors, topic authorization, and events that carry
// the request id of what caused them.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { type ClientState, RealtimeClient } from '../../../src/platform/realtime/client.ts';
import { bearer, registerAndLogin, type SignedIn } from '../../helpers/accounts.ts';
import { expectSecurityHeaders } from '../../helpers/expect-headers.ts';
import { shapes } from '../../helpers/shapes.ts';
import { gatewayUrl, openSocket, refusedUpgrade } from '../../helpers/sockets.ts';
import { startTestApp, type TestApp } from '../../helpers/test-app.ts';
import { eventually } from '../../helpers/wait.ts';

const ALLOWED_ORIGIN = 'https://app.example.test';

describe.each(shapes)('realtime gateway (%s)', (shape) => {
  let test: TestApp;
  let url: string;
  let alice: SignedIn;
  let bob: SignedIn;

  beforeAll(async () => {
    test = await startTestApp(shape, { env: { CORS_ORIGINS: ALLOWED_ORIGIN } });
    url = await gatewayUrl(test.app);
    [alice, bob] = await Promise.all([registerAndLogin(test.app), registerAndLogin(test.app)]);
  });
  afterAll(async () => test?.close());

  const cookieOf = (user: SignedIn) => `__Host-rampart_session=${user.cookie}`;
  const ownOrigin = () => new URL(url.replace('ws:', 'http:')).origin;

  it('refuses an upgrade without a session with 401 in the envelope, through the whole edge', async () => {
    const refused = await refusedUpgrade(url, {});
    expect(refused.status).toBe(401);
    expect(refused.body).toMatchObject({ error_code: 'UNAUTHENTICATED', request_id: refused.headers['x-request-id'] });
    expectSecurityHeaders(refused.headers);
    expect((await refusedUpgrade(url, bearer('not-a-token'))).status).toBe(401);
  });

  it('refuses a cookie-authenticated upgrade from a foreign or missing Origin (cross-site WebSocket hijacking)', async () => {
    const foreign = await refusedUpgrade(url, { cookie: cookieOf(alice), origin: 'https://evil.example' });
    expect(foreign.status).toBe(403);
    expect(foreign.body.error_code).toBe('CSRF_REJECTED');
    expect((await refusedUpgrade(url, { cookie: cookieOf(alice) })).status).toBe(403);
    for (const origin of [ownOrigin(), ALLOWED_ORIGIN]) {
      const socket = await openSocket(url, { cookie: cookieOf(alice), origin });
      socket.send({ op: 'ping' });
      await socket.next((frame) => frame.op === 'pong');
      socket.ws.close();
    }
    // A bearer token is not sent by browsers on their own: any Origin may use it.
    const withToken = await openSocket(url, { ...bearer(alice.token), origin: 'https://evil.example' });
    withToken.ws.close();
  });

  it('refuses WebSocket upgrades on other routes with 404, and a plain GET of the gateway with 400', async () => {
    const other = await refusedUpgrade(url.replace('/api/v1/ws', '/api/v1/auth/me'), bearer(alice.token));
    expect(other.status).toBe(404);
    expect(other.body.error_code).toBe('NOT_FOUND');
    const plain = await test.app.inject({ method: 'GET', url: '/api/v1/ws', headers: bearer(alice.token) });
    expect(plain.statusCode).toBe(400);
    expect(plain.json().error_code).toBe('VALIDATION_FAILED');
  });

  it('answers ping, and an error op for bad JSON, unknown ops, bad topics and binary frames; the socket stays open', async () => {
    const socket = await openSocket(url, bearer(alice.token));
    const upgradeRequestId = await (async () => {
      socket.send('{not json');
      const error = await socket.next((frame) => frame.op === 'error');
      expect(error).toMatchObject({ error_code: 'VALIDATION_FAILED' });
      return error.request_id;
    })();
    expect(typeof upgradeRequestId).toBe('string');
    socket.send({ op: 'shout' });
    socket.send({ op: 'subscribe', topic: 'has space' });
    socket.send({ op: 'subscribe', topic: 'x'.repeat(201) });
    socket.ws.send(Buffer.from([1, 2, 3]), { binary: true });
    socket.send({ op: 'subscribe', topic: 'nothing:here' });
    await socket.next((frame) => frame.op === 'error' && frame.error_code === 'NOT_FOUND');
    expect(socket.frames.filter((frame) => frame.op === 'error')).toHaveLength(6);
    socket.send({ op: 'ping' });
    await socket.next((frame) => frame.op === 'pong');
    socket.ws.close();
  });

  it("lets an owner watch their project's documents: document.ready carries the upload's request id", async () => {
    const project = await test.app.inject({
      method: 'POST',
      url: '/api/v1/projects',
      headers: bearer(alice.token),
      payload: { name: 'live' },
    });
    const projectId = project.json().project.id as string;
    const socket = await openSocket(url, bearer(alice.token));
    socket.send({ op: 'subscribe', topic: `documents:${projectId}` });
    await socket.next((frame) => frame.op === 'subscribed' && frame.topic === `documents:${projectId}`);
    const upload = await test.app.inject({
      method: 'POST',
      url: `/api/v1/projects/${projectId}/documents`,
      headers: bearer(alice.token),
      payload: { path: 'src/a.ts', content: 'export const a = 1;\n' },
    });
    expect(upload.statusCode).toBeLessThan(300);
    const event = await socket.next((frame) => frame.op === 'event');
    expect(event).toMatchObject({
      topic: `documents:${projectId}`,
      event: 'document.ready',
      request_id: upload.headers['x-request-id'],
      data: { path: 'src/a.ts', state: 'ready' },
    });
    expect(Number.isNaN(Date.parse(String(event.at)))).toBe(false);

    // Someone else's project, or a topic that is no project: FORBIDDEN, and Bob's socket stays open.
    const intruder = await openSocket(url, bearer(bob.token));
    for (const topic of [`documents:${projectId}`, 'documents:not-a-uuid', 'jobs']) {
      intruder.send({ op: 'subscribe', topic });
      expect(await intruder.next((frame) => frame.op === 'error' && frame.topic === topic)).toMatchObject({ error_code: 'FORBIDDEN' });
    }
    intruder.send({ op: 'ping' });
    await intruder.next((frame) => frame.op === 'pong');
    intruder.ws.close();

    socket.send({ op: 'unsubscribe', topic: `documents:${projectId}` });
    await socket.next((frame) => frame.op === 'unsubscribed');
    expect(test.app.realtimeGateway?.stats().subscriptions).toBe(0);
    socket.ws.close();
  });

  it('the typed client: a refused subscription rejects with the error frame, a granted one resolves, 4401 ends it for good', async () => {
    const user = await registerAndLogin(test.app);
    const project = await test.app.inject({ method: 'POST', url: '/api/v1/projects', headers: bearer(user.token), payload: { name: 'c' } });
    const states: ClientState[] = [];
    const client = new RealtimeClient({ connect: () => new WebSocket(url, { headers: bearer(user.token) }), minReconnectDelayMs: 50 });
    client.onStateChange((state) => states.push(state));
    await expect(client.subscribe('jobs')).rejects.toMatchObject({ error_code: 'FORBIDDEN', topic: 'jobs' });
    await client.subscribe(`documents:${project.json().project.id}`);
    await test.app.inject({ method: 'POST', url: '/api/v1/auth/logout', headers: bearer(user.token) });
    await eventually(async () => client.state === 'closed');
    expect(states).toEqual(['open', 'closed']);
  });
});
