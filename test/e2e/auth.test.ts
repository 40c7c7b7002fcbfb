// Signing in, in a real browser: the banner for each failure (by text and role), the
// Retry-After countdown, field messages from VALIDATION_FAILED, the __Host- session cookie
// working over http://localhost (HttpOnly: the page never sees it), and the sessions page.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GOOD_PASSWORD, registerAndLogin } from '../helpers/accounts.ts';
import { checkPage, openPage, registerInUi, signInInUi, skipWithoutChromium, startUiServer, type UiServer } from './browser.ts';

describe.skipIf(skipWithoutChromium)('web UI: sign-in and sessions', () => {
  let server: UiServer;
  beforeAll(async () => {
    server = await startUiServer();
  });
  afterAll(() => server?.close());

  it('shows the bad-credentials banner for a wrong password', async () => {
    const account = await registerAndLogin(server.t.app);
    const watched = await openPage(server);
    await signInInUi(watched.page, account.email, 'not-the-right-password');
    const banner = watched.page.getByRole('alert').filter({ hasText: 'Wrong email or password' });
    await banner.waitFor();
    await checkPage(watched, 'sign-in-bad-credentials');
    await watched.context.close();
  });

  it('shows the inactive-account banner for a deactivated account with the right password', async () => {
    const account = await registerAndLogin(server.t.app);
    await server.t.platform.db.query('update users set active = false where id = $1', [account.userId]);
    const watched = await openPage(server);
    await signInInUi(watched.page, account.email, account.password);
    await watched.page.getByRole('alert').filter({ hasText: 'This account is deactivated' }).waitFor();
    expect(await watched.page.getByRole('alert').filter({ hasText: 'Wrong email or password' }).count()).toBe(0);
    await watched.context.close();
  });

  it('answers the sixth failure with the rate-limit banner and a countdown from Retry-After', async () => {
    const account = await registerAndLogin(server.t.app);
    const watched = await openPage(server);
    const { page } = watched;
    await signInInUi(page, account.email, 'wrong-password-number-1');
    for (let attempt = 2; attempt <= 5; attempt += 1) {
      await page.getByLabel('Password').fill(`wrong-password-number-${attempt}`);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.getByRole('alert').filter({ hasText: 'Wrong email or password' }).waitFor();
    }
    await page.getByLabel('Password').fill(account.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    const banner = page.getByRole('alert').filter({ hasText: 'Too many attempts' });
    await banner.waitFor();
    const countdown = banner.locator('.countdown');
    const first = await countdown.textContent();
    // Retry-After is 15 minutes (LOGIN_FAILURE_WINDOW_SECONDS): shown as m:ss, counting down.
    expect(first).toMatch(/^1[45]:\d\d$/);
    await page.waitForFunction((before) => document.querySelector('.countdown')?.textContent !== before, first, { timeout: 5_000 });
    const toSeconds = (text: string | null) => {
      const [minutes, seconds] = String(text).split(':').map(Number);
      return (minutes ?? 0) * 60 + (seconds ?? 0);
    };
    expect(toSeconds(await countdown.textContent())).toBeLessThan(toSeconds(first));
    expect(await page.getByRole('button', { name: 'Sign in' }).isDisabled()).toBe(true);
    await checkPage(watched, 'sign-in-rate-limited');
    await watched.context.close();
  });

  it('shows field messages from VALIDATION_FAILED and the password policy before submit', async () => {
    const watched = await openPage(server);
    const { page } = watched;
    await page.goto('/register');
    await page.getByText('12 to 256 characters').waitFor();
    await page.getByLabel('Email').fill('someone@example.test');
    await page.getByLabel('Display name').fill('Someone');
    await page.getByLabel('Password').fill('short');
    await page.getByRole('button', { name: 'Create account' }).click();
    await page.getByRole('alert').filter({ hasText: 'Check the highlighted fields' }).waitFor();
    await page.locator('#field-password-error').filter({ hasText: 'Password must be at least 12 characters' }).waitFor();
    expect(await page.getByLabel('Password').getAttribute('aria-invalid')).toBe('true');
    await checkPage(watched, 'register-validation');
    await watched.context.close();
  });

  it('keeps the __Host- session cookie on http://localhost, out of the page script, and lists and revokes sessions', async () => {
    const watched = await openPage(server);
    const { page, context } = watched;
    const { email } = await registerInUi(page, 'cookie');
    const cookies = await context.cookies();
    const session = cookies.find((cookie) => cookie.name === '__Host-rampart_session');
    expect(session).toMatchObject({ httpOnly: true, secure: true, path: '/', sameSite: 'Lax', domain: 'localhost' });
    expect(await page.evaluate(() => document.cookie)).not.toContain('rampart_session');
    await checkPage(watched, 'projects');
    // A reload keeps the session: the cookie is sent back over plain http to localhost.
    await page.reload();
    await page.getByRole('heading', { level: 1, name: 'Projects' }).waitFor();
    // A second session elsewhere, then "sign out all other sessions".
    const other = await server.t.app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { email, password: GOOD_PASSWORD } });
    expect(other.statusCode).toBe(200);
    await page.getByRole('link', { name: 'Sessions' }).click();
    await page.getByRole('heading', { level: 1, name: 'My sessions' }).waitFor();
    await page.getByText('This session').waitFor();
    expect(await page.locator('tbody tr').count()).toBe(2);
    await checkPage(watched, 'sessions');
    await page.getByRole('button', { name: 'Sign out all other sessions' }).click();
    await page.getByRole('status').filter({ hasText: 'Signed out 1 other session.' }).waitFor();
    expect(await page.locator('tbody tr').count()).toBe(1);
    const revoked = await server.t.app.inject({ url: '/api/v1/auth/me', headers: { authorization: `Bearer ${other.json().token}` } });
    expect(revoked.statusCode).toBe(401);
    // Signing out ends the session and returns to the sign-in page.
    await page.getByRole('button', { name: 'Sign out', exact: true }).click();
    await page.getByRole('heading', { level: 1, name: 'Sign in' }).waitFor();
    await checkPage(watched, 'sign-in');
    await page.goto('/sessions');
    await page.getByRole('heading', { level: 1, name: 'Sign in' }).waitFor();
    expect(new URL(page.url()).searchParams.get('next')).toBe('/sessions');
    await watched.context.close();
  });
});
