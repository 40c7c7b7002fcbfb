// Password hashing and policy: Argon2id parameters, the common-password list, rehashing on login.
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config.ts';
import { COMMON_PASSWORD_LIST_SIZE, PasswordHasher, passwordProblem } from '../../../src/modules/auth/passwords.ts';
import { GOOD_PASSWORD, registerAndLogin } from '../../helpers/accounts.ts';
import { startTestApp } from '../../helpers/test-app.ts';

describe('password hashing', () => {
  it('uses Argon2id with at least the OWASP parameters', async () => {
    const hasher = new PasswordHasher(loadConfig({}).auth);
    const stored = await hasher.hash(GOOD_PASSWORD);
    expect(stored).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    expect(await hasher.verify(stored, GOOD_PASSWORD)).toBe(true);
    expect(await hasher.verify(stored, `${GOOD_PASSWORD}x`)).toBe(false);
    expect(await hasher.verify('not a hash', GOOD_PASSWORD)).toBe(false);
  });

  it('bundles a common-password list of at least 10,000 entries', () => {
    expect(COMMON_PASSWORD_LIST_SIZE).toBeGreaterThanOrEqual(10_000);
    expect(passwordProblem('Password1234')).toMatch(/too common/);
    expect(passwordProblem('a sentence nobody has ever leaked')).toBeUndefined();
  });

  it('rehashes on login when the configured parameters went up', async () => {
    const t = await startTestApp('embedded');
    const user = await registerAndLogin(t.app);
    const [before] = await t.platform.db.query<{ password_hash: string }>('select password_hash from users where id = $1', [user.userId]);
    await t.close();
    expect(before?.password_hash).toContain('t=2');
    // A stronger configuration sees the old hash as stale and replaces it at the next login.
    const stronger = new PasswordHasher(loadConfig({ ARGON2_TIME_COST: '3' }).auth);
    expect(stronger.needsRehash(before?.password_hash ?? '')).toBe(true);
    const t2 = await startTestApp('embedded', { env: { ARGON2_TIME_COST: '3' } });
    try {
      await t2.platform.db.query("insert into users (email, display_name, password_hash) values ('old@example.test', 'Old', $1)", [
        before?.password_hash,
      ]);
      const login = await t2.app.inject({
        method: 'POST',
        url: '/api/v1/auth/login',
        payload: { email: 'old@example.test', password: GOOD_PASSWORD },
      });
      expect(login.statusCode).toBe(200);
      const [after] = await t2.platform.db.query<{ password_hash: string }>(
        "select password_hash from users where email = 'old@example.test'",
      );
      expect(after?.password_hash).toMatch(/^\$argon2id\$v=19\$m=19456,t=3,p=1\$/);
      expect(t2.logs.some((line) => line.event === 'auth.password_rehashed')).toBe(true);
    } finally {
      await t2.close();
    }
  });
});
