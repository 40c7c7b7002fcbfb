// The admin API over accounts: who may call it, paging users, and what (de)activation and role changes do at once.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, GOOD_PASSWORD, login, registerAndLogin, uniqueEmail } from '../../helpers/accounts.ts';
import { shapes } from '../../helpers/shapes.ts';
import { startTestApp, type TestApp } from '../../helpers/test-app.ts';

describe.each(shapes)('admin users API (%s shape)', (shape) => {
  let t: TestApp;
  let admin: Awaited<ReturnType<typeof registerAndLogin>>;
  beforeAll(async () => {
    t = await startTestApp(shape, { env: { REGISTRATIONS_PER_IP_PER_HOUR: '1000' } });
    admin = await registerAndLogin(t.app, { email: uniqueEmail('admin') });
    await t.platform.db.query("update users set role = 'admin' where id = $1", [admin.userId]);
  });
  afterAll(() => t.close());

  const patch = (id: string, payload: object, token = admin.token) =>
    t.app.inject({ method: 'PATCH', url: `/api/v1/admin/users/${id}`, payload, headers: bearer(token) });

  it('is admin only: 401 anonymous, 403 FORBIDDEN for a user', async () => {
    expect((await t.app.inject({ url: '/api/v1/admin/users' })).statusCode).toBe(401);
    const user = await registerAndLogin(t.app);
    const response = await t.app.inject({ url: '/api/v1/admin/users', headers: bearer(user.token) });
    expect(response.statusCode).toBe(403);
    expect(response.json().error_code).toBe('FORBIDDEN');
    expect((await patch(user.userId, { role: 'admin' }, user.token)).statusCode).toBe(403);
  });

  it('lists users in pages that cover everyone exactly once', async () => {
    for (let i = 0; i < 4; i += 1) await registerAndLogin(t.app);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const query: string = cursor ? `?limit=2&cursor=${cursor}` : '?limit=2';
      const page = (await t.app.inject({ url: `/api/v1/admin/users${query}`, headers: bearer(admin.token) })).json();
      expect(page.users.length).toBeLessThanOrEqual(2);
      seen.push(...page.users.map((user: { id: string }) => user.id));
      cursor = page.next_cursor;
    } while (cursor);
    const [{ n }] = (await t.platform.db.query<{ n: number }>('select count(*) as n from users')) as [{ n: number }];
    expect(seen).toHaveLength(n);
    expect(new Set(seen).size).toBe(n);
    const bad = await t.app.inject({ url: '/api/v1/admin/users?cursor=garbage', headers: bearer(admin.token) });
    expect(bad.statusCode).toBe(400);
  });

  it('answers 400 for a cursor holding an impossible instant and for limits that are not small integers', async () => {
    const forged = (createdAt: string) => Buffer.from(JSON.stringify([createdAt, admin.userId])).toString('base64url');
    // Each passes a format check by shape; Postgres refuses them (month 13, year 0, offset +99).
    for (const createdAt of ['2024-13-01 00:00:00+00', '0000-01-01 00:00:00+00', '2024-01-01 00:00:00+99', '2023-02-29 12:00:00+00']) {
      const response = await t.app.inject({ url: `/api/v1/admin/users?cursor=${forged(createdAt)}`, headers: bearer(admin.token) });
      expect(response.statusCode, createdAt).toBe(400);
      expect(response.json()).toMatchObject({ error_code: 'VALIDATION_FAILED', details: [{ path: 'query.cursor' }] });
    }
    for (const limit of ['Infinity', '1e309', '-1', '1.5', '99999999999']) {
      const response = await t.app.inject({ url: `/api/v1/admin/users?limit=${limit}`, headers: bearer(admin.token) });
      expect(response.statusCode, limit).toBe(400);
      expect(response.json()).toMatchObject({ error_code: 'VALIDATION_FAILED', details: [{ path: 'query.limit' }] });
    }
  });

  it('deactivating ends the sessions; login then says INACTIVE_ACCOUNT only with the right password', async () => {
    const user = await registerAndLogin(t.app);
    // In use first: the session is then in the embedded shape's cache, which must not outlive it.
    expect((await t.app.inject({ url: '/api/v1/auth/me', headers: bearer(user.token) })).statusCode).toBe(200);
    const response = await patch(user.userId, { active: false });
    expect(response.statusCode).toBe(200);
    expect(response.json().user.active).toBe(false);
    expect((await t.app.inject({ url: '/api/v1/auth/me', headers: bearer(user.token) })).statusCode).toBe(401);
    const right = await t.app.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      payload: { email: user.email, password: GOOD_PASSWORD },
    });
    expect(right.statusCode).toBe(403);
    expect(right.json().error_code).toBe('INACTIVE_ACCOUNT');
    const wrong = await t.app.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      payload: { email: user.email, password: 'wrong-password-xx' },
    });
    expect(wrong.json().error_code).toBe('BAD_CREDENTIALS');
    expect((await patch(user.userId, { active: true })).statusCode).toBe(200);
    await login(t.app, user.email, GOOD_PASSWORD);
  });

  it('a demotion takes effect on the next request of a session already in use', async () => {
    const user = await registerAndLogin(t.app);
    expect((await patch(user.userId, { role: 'admin' })).statusCode).toBe(200);
    const asAdmin = () => t.app.inject({ url: '/api/v1/admin/users', headers: bearer(user.token) });
    expect((await asAdmin()).statusCode).toBe(200);
    expect((await patch(user.userId, { role: 'user' })).statusCode).toBe(200);
    expect((await asAdmin()).statusCode).toBe(403);
  });

  it('changes roles, logs the change, and refuses to let an admin demote themselves', async () => {
    const user = await registerAndLogin(t.app);
    const promoted = await patch(user.userId, { role: 'admin' });
    expect(promoted.json().user.role).toBe('admin');
    expect(t.logs.some((line) => line.event === 'auth.role_changed' && line.user_id === user.userId && line.by === admin.userId)).toBe(
      true,
    );
    expect((await t.app.inject({ url: '/api/v1/admin/users', headers: bearer(user.token) })).statusCode).toBe(200);
    const self = await patch(admin.userId, { role: 'user' });
    expect(self.statusCode).toBe(409);
    expect((await patch(admin.userId, { active: false })).statusCode).toBe(409);
  });

  it('validates the change: 404 unknown user, 400 empty or unknown fields', async () => {
    expect((await patch('00000000-0000-4000-8000-000000000000', { active: false })).statusCode).toBe(404);
    expect((await patch(admin.userId, {})).statusCode).toBe(400);
    expect((await patch(admin.userId, { email: 'x@y.z' })).statusCode).toBe(400);
    expect((await patch('not-a-uuid', { active: true })).statusCode).toBe(400);
  });
});
