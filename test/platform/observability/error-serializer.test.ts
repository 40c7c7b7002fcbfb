// Finding 5 of the security scan: a failed registration insert logged the database error
// with the query's parameters, the new Argon2id hash among them.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GOOD_PASSWORD, uniqueEmail } from '../../helpers/accounts.ts';
import { shapes } from '../../helpers/shapes.ts';
import { startTestApp, type TestApp } from '../../helpers/test-app.ts';

describe.each(shapes)('database errors in the log (%s shape)', (shape) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp(shape);
    // Any server-side failure of the insert will do: a trigger refuses every new user.
    await t.platform.db.exec(`
      create function refuse_users() returns trigger language plpgsql as $$
      begin raise exception 'users are refused here' using errcode = 'P0001'; end $$;
      create trigger refuse_users before insert on users for each row execute function refuse_users();`);
  });
  afterAll(() => t.close());

  it('a failing insert of a user leaves no password hash, email or SQL in the log, and says what failed', async () => {
    const email = uniqueEmail('logged');
    const response = await t.app.inject({
      method: 'POST',
      url: '/api/v1/auth/register',
      payload: { email, password: GOOD_PASSWORD, display_name: 'Logged' },
    });
    expect(response.statusCode).toBe(500);
    expect(response.json().error_code).toBe('INTERNAL');
    const text = JSON.stringify(t.logs);
    expect(text).not.toContain('$argon2id$');
    expect(text).not.toContain(email);
    expect(text).not.toMatch(/insert into/i);
    const logged = t.logs.find((line) => line.msg === 'unhandled error') as { err: Record<string, unknown> } | undefined;
    expect(logged?.err).toMatchObject({ code: 'P0001', message: expect.stringContaining('SQLSTATE P0001') });
    expect(String(logged?.err.stack)).toMatch(/^\s+at /);
  });
});
