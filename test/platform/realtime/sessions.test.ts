// Sessions end sockets: logout, revocation, password change, deactivation and expiry close
// that session's sockets with 4401 (and only those); a role change closes with 1008; the
// admins-only `jobs` topic streams job states with the request id that caused them.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, GOOD_PASSWORD, login, registerAndLogin, type SignedIn } from '../../helpers/accounts.ts';
import { shapes } from '../../helpers/shapes.ts';
import { gatewayUrl, openSocket, type TestSocket } from '../../helpers/sockets.ts';
import { startTestApp, type TestApp } from '../../helpers/test-app.ts';

describe.each(shapes)('sockets and sessions (%s)', (shape) => {
  let test: TestApp;
  let url: string;
  let admin: SignedIn;

  beforeAll(async () => {
    // A short heartbeat, so the periodic session re-check runs within the test.
    test = await startTestApp(shape, { env: { WS_PING_INTERVAL_MS: '300' } });
    url = await gatewayUrl(test.app);
    admin = await registerAndLogin(test.app);
    await test.platform.db.query("update users set role = 'admin' where id = $1", [admin.userId]);
  });
  afterAll(async () => test?.close());

  async function expectClosedWithin(socket: TestSocket, code: number, boundMs: number): Promise<number> {
    const started = Date.now();
    const closed = await socket.closed;
    expect(closed.code).toBe(code);
    const elapsed = Date.now() - started;
    expect(elapsed).toBeLessThan(boundMs);
    return elapsed;
  }

  async function stillOpen(socket: TestSocket): Promise<void> {
    socket.frames.length = 0;
    socket.send({ op: 'ping' });
    await socket.next((frame) => frame.op === 'pong');
  }

  it('logout closes that session’s sockets with 4401; the same account’s other session keeps its socket', async () => {
    const user = await registerAndLogin(test.app);
    const other = await login(test.app, user.email, user.password);
    const [socket, otherSocket] = await Promise.all([openSocket(url, bearer(user.token)), openSocket(url, bearer(other.token))]);
    const logout = await test.app.inject({ method: 'POST', url: '/api/v1/auth/logout', headers: bearer(user.token) });
    expect(logout.statusCode).toBeLessThan(300);
    // Bounds here are for a loaded machine; the close itself is sent before logout answers.
    await expectClosedWithin(socket, 4401, 5_000);
    await stillOpen(otherSocket);
    otherSocket.ws.close();
  });

  it('revoking a session, revoking the others and changing the password close the revoked sessions’ sockets', async () => {
    const user = await registerAndLogin(test.app);
    const second = await login(test.app, user.email, user.password);
    const third = await login(test.app, user.email, user.password);
    const sockets = await Promise.all([user, second, third].map((session) => openSocket(url, bearer(session.token))));
    const [mine, secondSocket, thirdSocket] = sockets as [TestSocket, TestSocket, TestSocket];

    const sessions = await test.app.inject({ method: 'GET', url: '/api/v1/auth/sessions', headers: bearer(user.token) });
    const secondId = (sessions.json().sessions as { id: string; current: boolean }[]).find(
      (session) => !session.current && session.id !== undefined,
    );
    expect(secondId).toBeDefined();
    const revoke = await test.app.inject({
      method: 'DELETE',
      url: `/api/v1/auth/sessions/${secondId?.id}`,
      headers: bearer(user.token),
    });
    expect(revoke.statusCode).toBe(204);
    const firstClosed = await Promise.race([
      secondSocket.closed.then((closed) => ({ which: 'second', ...closed })),
      thirdSocket.closed.then((closed) => ({ which: 'third', ...closed })),
    ]);
    expect(firstClosed.code).toBe(4401);
    const survivor = firstClosed.which === 'second' ? thirdSocket : secondSocket;

    const change = await test.app.inject({
      method: 'POST',
      url: '/api/v1/auth/password',
      headers: bearer(user.token),
      payload: { current_password: GOOD_PASSWORD, new_password: 'amber-falcon-river-77' },
    });
    expect(change.statusCode).toBeLessThan(300);
    await expectClosedWithin(survivor, 4401, 5_000);
    await stillOpen(mine); // the session that changed the password stays
    mine.ws.close();
  });

  it('deactivating an account closes all its sockets with 4401', async () => {
    const user = await registerAndLogin(test.app);
    const socket = await openSocket(url, bearer(user.token));
    const deactivate = await test.app.inject({
      method: 'PATCH',
      url: `/api/v1/admin/users/${user.userId}`,
      headers: bearer(admin.token),
      payload: { active: false },
    });
    expect(deactivate.statusCode).toBe(200);
    await expectClosedWithin(socket, 4401, 5_000);
  });

  it('a session that expires closes its socket with 4401 when it expires', async () => {
    const user = await registerAndLogin(test.app);
    await test.platform.db.query("update sessions set idle_expires_at = now() + interval '1500 milliseconds' where user_id = $1", [
      user.userId,
    ]);
    const socket = await openSocket(url, bearer(user.token));
    expect((await socket.closed).code).toBe(4401);
  });

  it('a session deleted behind the gateway’s back (no message) is caught by the heartbeat re-check', async () => {
    const user = await registerAndLogin(test.app);
    const socket = await openSocket(url, bearer(user.token));
    await test.platform.db.query('delete from sessions where user_id = $1', [user.userId]);
    expect((await socket.closed).code).toBe(4401);
  });

  it('a demoted admin loses the jobs topic: the socket closes with 1008 at the next heartbeat', async () => {
    const other = await registerAndLogin(test.app);
    await test.platform.db.query("update users set role = 'admin' where id = $1", [other.userId]);
    const socket = await openSocket(url, bearer(other.token));
    socket.send({ op: 'subscribe', topic: 'jobs' });
    await socket.next((frame) => frame.op === 'subscribed');
    const demote = await test.app.inject({
      method: 'PATCH',
      url: `/api/v1/admin/users/${other.userId}`,
      headers: bearer(admin.token),
      payload: { role: 'user' },
    });
    expect(demote.statusCode).toBe(200);
    expect((await socket.closed).code).toBe(1008);
  });

  it('admins watch job states live, with the request id of the request that enqueued the job', async () => {
    const socket = await openSocket(url, bearer(admin.token));
    socket.send({ op: 'subscribe', topic: 'jobs' });
    await socket.next((frame) => frame.op === 'subscribed');
    const project = await test.app.inject({
      method: 'POST',
      url: '/api/v1/projects',
      headers: bearer(admin.token),
      payload: { name: 'jobs' },
    });
    const upload = await test.app.inject({
      method: 'POST',
      url: `/api/v1/projects/${project.json().project.id}/documents`,
      headers: bearer(admin.token),
      payload: { path: 'a.md', content: '# a\n' },
    });
    const requestId = upload.headers['x-request-id'];
    const completed = await socket.next((frame) => frame.event === 'job.completed' && frame.request_id === requestId);
    expect(completed).toMatchObject({ topic: 'jobs', data: { type: 'documents.parse', state: 'completed' } });
    expect(socket.frames.some((frame) => frame.event === 'job.active' && frame.request_id === requestId)).toBe(true);
    socket.ws.close();
  });
});
