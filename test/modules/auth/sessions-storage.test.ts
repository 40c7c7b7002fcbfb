// Session storage: only the token hash is stored, idle and absolute expiry, and the hourly housekeeping.
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, registerAndLogin } from '../../helpers/accounts.ts';
import { shapes } from '../../helpers/shapes.ts';
import { startTestApp, type TestApp } from '../../helpers/test-app.ts';
import { eventually } from '../../helpers/wait.ts';

describe.each(shapes)('session storage (%s shape)', (shape) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp(shape, { env: { REGISTRATIONS_PER_IP_PER_HOUR: '1000' } });
  });
  afterAll(() => t.close());

  const me = (token: string) => t.app.inject({ url: '/api/v1/auth/me', headers: bearer(token) });

  it('stores only the SHA-256 of the token, and the stored value is no token', async () => {
    const user = await registerAndLogin(t.app);
    const rows = await t.platform.db.query<{ token_hash: string }>('select token_hash from sessions where user_id = $1', [user.userId]);
    expect(rows).toHaveLength(1);
    const stored = rows[0]?.token_hash ?? '';
    expect(stored).toBe(createHash('sha256').update(user.token).digest('hex'));
    expect(stored).not.toContain(user.token);
    const asToken = await me(stored);
    expect(asToken.statusCode).toBe(401);
    // The stored hash re-encoded in the token alphabet is refused too.
    expect((await me(Buffer.from(stored, 'hex').toString('base64url'))).statusCode).toBe(401);
  });

  it('slides the idle expiry on use, at most once a minute', async () => {
    const user = await registerAndLogin(t.app);
    await t.platform.db.query(
      "update sessions set last_seen_at = now() - interval '2 minutes', idle_expires_at = now() + interval '1 hour' where user_id = $1",
      [user.userId],
    );
    expect((await me(user.token)).statusCode).toBe(200);
    const [row] = await t.platform.db.query<{ idle_left_days: number }>(
      'select extract(epoch from idle_expires_at - now()) / 86400 as idle_left_days from sessions where user_id = $1',
      [user.userId],
    );
    expect(Number(row?.idle_left_days)).toBeGreaterThan(6.9);
  });

  it('refuses and deletes a session past its idle expiry', async () => {
    const user = await registerAndLogin(t.app);
    await t.platform.db.query("update sessions set idle_expires_at = now() - interval '1 second' where user_id = $1", [user.userId]);
    expect((await me(user.token)).statusCode).toBe(401);
    expect(await t.platform.db.query('select id from sessions where user_id = $1', [user.userId])).toEqual([]);
  });

  it('housekeeping deletes expired sessions and keeps live ones (scheduled hourly)', async () => {
    const live = await registerAndLogin(t.app);
    const expired = await registerAndLogin(t.app);
    await t.platform.db.query("update sessions set idle_expires_at = now() - interval '1 second' where user_id = $1", [expired.userId]);
    const [schedule] = await t.platform.db.query<{ cron: string }>(
      "select cron from pgboss.schedule where name = 'auth.delete-expired-sessions'",
    );
    expect(schedule?.cron).toBe('7 * * * *');
    await t.platform.db.transaction((tx) => t.platform.jobs.enqueue(tx, 'auth.delete-expired-sessions', {}));
    await eventually(async () => (await t.platform.db.query('select 1 from sessions where user_id = $1', [expired.userId])).length === 0);
    expect(await t.platform.db.query('select 1 from sessions where user_id = $1', [live.userId])).toHaveLength(1);
  });

  it('refuses a session past its absolute expiry even while in use', async () => {
    const user = await registerAndLogin(t.app);
    await t.platform.db.query("update sessions set absolute_expires_at = now() - interval '1 second' where user_id = $1", [user.userId]);
    expect((await me(user.token)).statusCode).toBe(401);
  });
});
