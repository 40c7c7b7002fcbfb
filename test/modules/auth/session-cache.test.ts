// Acceptance: validated sessions are cached per process (SESSION_CACHE_MS), yet a sign-out,
// a revocation, a deactivation or a role change made through one process is in force on
// another sharing Postgres and Redis at its next request, also while that process cannot
// hear Redis, and in the embedded shape at once.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, login, registerAndLogin, type SignedIn } from '../../helpers/accounts.ts';
import { scaleUrls } from '../../helpers/shapes.ts';
import { startTcpProxy, type TcpProxy } from '../../helpers/tcp-proxy.ts';
import { startTestApp, type TestApp } from '../../helpers/test-app.ts';
import { eventually } from '../../helpers/wait.ts';

// Far longer than any test here: an entry that outlived its invalidation would be seen.
const CACHE = { SESSION_CACHE_MS: '60000' };

const me = (t: TestApp, token: string) => t.app.inject({ url: '/api/v1/auth/me', headers: bearer(token) });

async function makeAdmin(t: TestApp): Promise<SignedIn> {
  const admin = await registerAndLogin(t.app);
  // Before its first request, so no process holds its session yet.
  await t.platform.db.query("update users set role = 'admin' where id = $1", [admin.userId]);
  return admin;
}

describe('session cache (embedded shape)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp('embedded', { env: CACHE });
  });
  afterAll(() => t.close());

  it('answers a session it validated from memory', async () => {
    const user = await registerAndLogin(t.app);
    expect((await me(t, user.token)).statusCode).toBe(200);
    // Deleted behind the service's back: only a cached copy still answers.
    await t.platform.db.query('delete from sessions where user_id = $1', [user.userId]);
    expect((await me(t, user.token)).statusCode).toBe(200);
  });

  it('refuses a signed-out session at once and sees a role change on the next request', async () => {
    const admin = await makeAdmin(t);
    const user = await registerAndLogin(t.app);
    expect((await me(t, user.token)).statusCode).toBe(200);
    expect((await t.app.inject({ url: '/api/v1/admin/users', headers: bearer(user.token) })).statusCode).toBe(403);
    const promote = await t.app.inject({
      method: 'PATCH',
      url: `/api/v1/admin/users/${user.userId}`,
      payload: { role: 'admin' },
      headers: bearer(admin.token),
    });
    expect(promote.statusCode).toBe(200);
    expect((await t.app.inject({ url: '/api/v1/admin/users', headers: bearer(user.token) })).statusCode).toBe(200);
    expect((await t.app.inject({ method: 'POST', url: '/api/v1/auth/logout', headers: bearer(user.token) })).statusCode).toBe(204);
    expect((await me(t, user.token)).statusCode).toBe(401);
  });
});

describe.runIf(scaleUrls)('session cache across two processes (scale shape)', () => {
  let a: TestApp;
  let b: TestApp;
  let proxy: TcpProxy;
  let admin: SignedIn;

  beforeAll(async () => {
    const redis = new URL(scaleUrls?.redis ?? '');
    proxy = await startTcpProxy(redis.hostname, Number(redis.port || 6379));
    const prefix = `t${randomBytes(4).toString('hex')}:`;
    a = await startTestApp('scale', { env: { ...CACHE, REDIS_KEY_PREFIX: prefix } });
    // B reaches the same Redis through a relay the test can cut.
    const viaProxy = new URL(redis);
    viaProxy.hostname = '127.0.0.1';
    viaProxy.port = String(proxy.port);
    b = await startTestApp('scale', {
      databaseUrl: a.config.databaseUrl,
      worker: false,
      env: { ...CACHE, REDIS_KEY_PREFIX: prefix, REDIS_URL: viaProxy.toString() },
    });
    admin = await makeAdmin(a);
  });

  afterAll(async () => {
    await b?.close();
    await a?.close();
    await proxy?.close();
  });

  /**
   * Whether B answers from its cache: a fresh session is read once, then its row is deleted
   * behind the service's back (no invalidation), so only a cached copy still answers 200.
   */
  async function bCaches(): Promise<boolean> {
    const probe = await registerAndLogin(a.app);
    expect((await me(b, probe.token)).statusCode).toBe(200);
    await a.platform.db.query('delete from sessions where user_id = $1', [probe.userId]);
    return (await me(b, probe.token)).statusCode === 200;
  }

  /** B's subscription is up (it caches): what follows is a revocation B has cached the session for. */
  const bListening = () => eventually(async () => (await bCaches()) || undefined, 10_000);

  const logout = (token: string) => a.app.inject({ method: 'POST', url: '/api/v1/auth/logout', headers: bearer(token) });

  it('a session revoked through one instance is refused by the other on its next request', async () => {
    await bListening();
    const user = await registerAndLogin(a.app);
    const second = await login(a.app, user.email, user.password);
    for (const session of [user, second]) expect((await me(b, session.token)).statusCode).toBe(200);
    const sessions = (await a.app.inject({ url: '/api/v1/auth/sessions', headers: bearer(user.token) })).json() as {
      sessions: { id: string; current: boolean }[];
    };
    const secondId = sessions.sessions.find((session) => !session.current)?.id;
    const revoked = await a.app.inject({ method: 'DELETE', url: `/api/v1/auth/sessions/${secondId}`, headers: bearer(user.token) });
    expect(revoked.statusCode).toBe(204);
    expect((await me(b, second.token)).statusCode).toBe(401);
    expect((await logout(user.token)).statusCode).toBe(204);
    expect((await me(b, user.token)).statusCode).toBe(401);
  });

  it('a deactivation or a role change through one instance holds on the other on its next request', async () => {
    await bListening();
    const user = await registerAndLogin(a.app);
    expect((await me(b, user.token)).statusCode).toBe(200);
    const adminArea = () => b.app.inject({ url: '/api/v1/admin/users', headers: bearer(user.token) });
    expect((await adminArea()).statusCode).toBe(403);
    const patch = (payload: object) =>
      a.app.inject({ method: 'PATCH', url: `/api/v1/admin/users/${user.userId}`, payload, headers: bearer(admin.token) });
    expect((await patch({ role: 'admin' })).statusCode).toBe(200);
    expect((await adminArea()).statusCode).toBe(200);
    expect((await patch({ role: 'user' })).statusCode).toBe(200);
    expect((await adminArea()).statusCode).toBe(403);
    expect((await patch({ active: false })).statusCode).toBe(200);
    expect((await me(b, user.token)).statusCode).toBe(401);
  });

  it('a sign-out made while its instance cannot reach Redis reaches the other once Redis is back', async () => {
    const user = await registerAndLogin(a.app);
    // A holds the session; B signs it out while B cannot reach Redis, so its message waits.
    expect((await me(a, user.token)).statusCode).toBe(200);
    await proxy.cut();
    try {
      const out = await b.app.inject({ method: 'POST', url: '/api/v1/auth/logout', headers: bearer(user.token) });
      expect(out.statusCode).toBe(204);
      // The row is gone: A answers from its cache, not told yet.
      expect((await me(a, user.token)).statusCode).toBe(200);
    } finally {
      await proxy.restore();
    }
    // Well within SESSION_CACHE_MS (60 s): only the late message can have emptied A's cache.
    await eventually(async () => ((await me(a, user.token)).statusCode === 401 ? true : undefined), 15_000);
    expect(b.logs.some((line) => line.event === 'auth.session_invalidation_sent_late')).toBe(true);
  });

  it('while its subscriber cannot reach Redis, an instance reads every session and still refuses a revoked one', async () => {
    await bListening();
    const user = await registerAndLogin(a.app);
    expect((await me(b, user.token)).statusCode).toBe(200);
    await proxy.cut();
    try {
      // Published while B cannot hear it: B must not answer from what it cached before.
      expect((await logout(user.token)).statusCode).toBe(204);
      expect((await me(b, user.token)).statusCode).toBe(401);
      expect(await bCaches()).toBe(false);
      const fresh = await registerAndLogin(a.app);
      expect((await me(b, fresh.token)).statusCode).toBe(200);
      expect((await logout(fresh.token)).statusCode).toBe(204);
      expect((await me(b, fresh.token)).statusCode).toBe(401);
    } finally {
      await proxy.restore();
    }
    // Subscribed again, B caches again and hears revocations again.
    await bListening();
    const later = await registerAndLogin(a.app);
    expect((await me(b, later.token)).statusCode).toBe(200);
    expect((await logout(later.token)).statusCode).toBe(204);
    expect((await me(b, later.token)).statusCode).toBe(401);
  });
});
