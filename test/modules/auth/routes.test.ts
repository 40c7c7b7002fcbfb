// The accounts API end to end: registration, login, sessions, logout, password change, and the answers to bad input.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, GOOD_PASSWORD, login, randomToken, registerAndLogin, uniqueEmail } from '../../helpers/accounts.ts';
import { shapes } from '../../helpers/shapes.ts';
import { startTestApp, type TestApp } from '../../helpers/test-app.ts';

describe.each(shapes)('accounts API (%s shape)', (shape) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp(shape, { env: { REGISTRATIONS_PER_IP_PER_HOUR: '1000', CORS_ORIGINS: 'https://app.example' } });
  });
  afterAll(() => t.close());

  const post = (url: string, payload: unknown, headers: Record<string, string> = {}) =>
    t.app.inject({ method: 'POST', url: `/api/v1${url}`, payload: payload as object, headers });

  describe('register', () => {
    it('creates an account with a normalised email and never returns the hash', async () => {
      const email = uniqueEmail('Mixed');
      const response = await post('/auth/register', {
        email: `  ${email.toUpperCase()} `.trim(),
        password: GOOD_PASSWORD,
        display_name: 'Ann',
      });
      expect(response.statusCode).toBe(201);
      const { user } = response.json();
      expect(user).toMatchObject({ email: email.toLowerCase(), display_name: 'Ann', role: 'user', active: true });
      expect(response.body).not.toMatch(/argon2|password/i);
    });

    it('answers 409 CONFLICT for a taken email, whatever its case', async () => {
      const email = uniqueEmail();
      expect((await post('/auth/register', { email, password: GOOD_PASSWORD, display_name: 'A' })).statusCode).toBe(201);
      const again = await post('/auth/register', { email: email.toUpperCase(), password: GOOD_PASSWORD, display_name: 'B' });
      expect(again.statusCode).toBe(409);
      expect(again.json().error_code).toBe('CONFLICT');
    });

    it.each([
      ['too short', 'short-pass1', /at least 12/],
      ['too long', 'x'.repeat(257), /at most 256/],
      ['common', 'qwertyuiop123', /too common/],
    ])('refuses a password that is %s', async (_label, password, message) => {
      const response = await post('/auth/register', { email: uniqueEmail(), password, display_name: 'A' });
      expect(response.statusCode).toBe(400);
      expect(response.json()).toMatchObject({ error_code: 'VALIDATION_FAILED', details: [{ path: 'body.password' }] });
      expect(response.json().message).toMatch(message);
    });

    it('counts code points, not bytes: 12 emoji are a valid length', async () => {
      const response = await post('/auth/register', { email: uniqueEmail(), password: '🔐'.repeat(12), display_name: 'A' });
      expect(response.statusCode).toBe(201);
    });

    it('refuses malformed bodies with field details', async () => {
      const response = await post('/auth/register', { email: 'not-an-email', password: GOOD_PASSWORD, display_name: 'A', role: 'admin' });
      expect(response.statusCode).toBe(400);
      expect(response.json().error_code).toBe('VALIDATION_FAILED');
    });

    it('refuses NUL and unpaired surrogates in any field with 400 naming the field (Postgres text cannot hold NUL)', async () => {
      for (const [field, value] of [
        ['email', 'a\u0000b@example.test'],
        ['display_name', 'Ann\u0000'],
        ['display_name', 'Ann\ud800'],
      ] as const) {
        const response = await post('/auth/register', { email: uniqueEmail(), password: GOOD_PASSWORD, display_name: 'A', [field]: value });
        expect(response.statusCode, `${field}: ${JSON.stringify(value)}`).toBe(400);
        expect(response.json()).toMatchObject({ error_code: 'VALIDATION_FAILED', details: [{ path: `body.${field}` }] });
      }
    });
  });

  describe('login', () => {
    it('refuses a NUL in the email with 400, not a database error', async () => {
      const response = await post('/auth/login', { email: 'a\u0000b@example.test', password: GOOD_PASSWORD });
      expect(response.statusCode).toBe(400);
      expect(response.json()).toMatchObject({ error_code: 'VALIDATION_FAILED', details: [{ path: 'body.email' }] });
    });

    it('never coerces a JSON body: an array, number or boolean for the email is 400, even around a real account', async () => {
      const { email } = await registerAndLogin(t.app);
      for (const wrong of [[email], 42, true]) {
        const response = await post('/auth/login', { email: wrong, password: GOOD_PASSWORD });
        expect(response.statusCode, JSON.stringify(wrong)).toBe(400);
        expect(response.json()).toMatchObject({
          error_code: 'VALIDATION_FAILED',
          details: [{ path: 'body.email', message: 'must be string' }],
        });
      }
    });

    it('returns user, token and expiry, and sets a hardened session cookie', async () => {
      const email = uniqueEmail();
      await post('/auth/register', { email, password: GOOD_PASSWORD, display_name: 'A' });
      const response = await post('/auth/login', { email, password: GOOD_PASSWORD });
      expect(response.statusCode).toBe(200);
      const body = response.json();
      expect(body.token).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(new Date(body.expires_at).getTime()).toBeGreaterThan(Date.now());
      const cookie = response.cookies.find((item) => item.name === '__Host-rampart_session');
      // Secure outside production too (this app runs with NODE_ENV=test): browsers refuse a __Host- cookie without it.
      expect(cookie).toMatchObject({ value: body.token, path: '/', httpOnly: true, sameSite: 'Lax', secure: true });
      expect(cookie?.domain).toBeUndefined();
      expect(response.headers['cache-control']).toBe('no-store');
    });

    it('gives unknown email and wrong password the same answer', async () => {
      const { email } = await registerAndLogin(t.app);
      const unknown = await post('/auth/login', { email: uniqueEmail('ghost'), password: GOOD_PASSWORD });
      const wrong = await post('/auth/login', { email, password: 'wrong-password-123' });
      for (const response of [unknown, wrong]) expect(response.statusCode).toBe(401);
      const strip = (body: Record<string, unknown>) => ({ ...body, request_id: undefined });
      expect(strip(unknown.json())).toEqual(strip(wrong.json()));
      expect(unknown.json().error_code).toBe('BAD_CREDENTIALS');
    });
  });

  describe('sessions', () => {
    it('accepts the token as a bearer and as the cookie', async () => {
      const me = await registerAndLogin(t.app);
      const viaBearer = await t.app.inject({ url: '/api/v1/auth/me', headers: bearer(me.token) });
      expect(viaBearer.statusCode).toBe(200);
      expect(viaBearer.json().user.id).toBe(me.userId);
      expect(viaBearer.headers['cache-control']).toBe('no-store');
      const viaCookie = await t.app.inject({ url: '/api/v1/auth/me', cookies: { '__Host-rampart_session': me.cookie } });
      expect(viaCookie.json().user.id).toBe(me.userId);
    });

    it('answers 401 UNAUTHENTICATED without, or with a bad, token', async () => {
      for (const headers of [{}, bearer(randomToken()), bearer('short'), { authorization: 'Basic abc' }]) {
        const response = await t.app.inject({ url: '/api/v1/auth/me', headers });
        expect(response.statusCode).toBe(401);
        expect(response.json().error_code).toBe('UNAUTHENTICATED');
      }
    });

    it('logs out: the token stops working and the cookie is cleared', async () => {
      const me = await registerAndLogin(t.app);
      const out = await post('/auth/logout', undefined, bearer(me.token));
      expect(out.statusCode).toBe(204);
      // The clearing cookie carries the same attributes, or a browser would not let it replace the __Host- one.
      expect(out.cookies.find((item) => item.name === '__Host-rampart_session')).toMatchObject({ value: '', path: '/', secure: true });
      expect((await t.app.inject({ url: '/api/v1/auth/me', headers: bearer(me.token) })).statusCode).toBe(401);
    });

    it('lists my sessions, revokes one, and revokes all others', async () => {
      const first = await registerAndLogin(t.app);
      const second = await login(t.app, first.email, first.password);
      const third = await login(t.app, first.email, first.password);
      const list = await t.app.inject({ url: '/api/v1/auth/sessions', headers: bearer(first.token) });
      const sessions = list.json().sessions as { id: string; current: boolean }[];
      expect(sessions).toHaveLength(3);
      expect(sessions.filter((session) => session.current)).toHaveLength(1);
      const other = sessions.find((session) => !session.current);
      const revoked = await t.app.inject({ method: 'DELETE', url: `/api/v1/auth/sessions/${other?.id}`, headers: bearer(first.token) });
      expect(revoked.statusCode).toBe(204);
      const stillValid = await Promise.all([second, third].map((s) => t.app.inject({ url: '/api/v1/auth/me', headers: bearer(s.token) })));
      expect(stillValid.map((response) => response.statusCode).sort()).toEqual([200, 401]);
      const rest = await post('/auth/sessions/revoke-others', undefined, bearer(first.token));
      expect(rest.json()).toEqual({ revoked: 1 });
      for (const s of [second, third])
        expect((await t.app.inject({ url: '/api/v1/auth/me', headers: bearer(s.token) })).statusCode).toBe(401);
      expect((await t.app.inject({ url: '/api/v1/auth/me', headers: bearer(first.token) })).statusCode).toBe(200);
    });

    it("cannot revoke someone else's session (404)", async () => {
      const alice = await registerAndLogin(t.app);
      const bob = await registerAndLogin(t.app);
      const bobs = (await t.app.inject({ url: '/api/v1/auth/sessions', headers: bearer(bob.token) })).json().sessions;
      const attempt = await t.app.inject({ method: 'DELETE', url: `/api/v1/auth/sessions/${bobs[0].id}`, headers: bearer(alice.token) });
      expect(attempt.statusCode).toBe(404);
      expect((await t.app.inject({ url: '/api/v1/auth/me', headers: bearer(bob.token) })).statusCode).toBe(200);
    });
  });

  describe('password change', () => {
    it('needs the current password, applies the policy, and revokes the other sessions', async () => {
      const me = await registerAndLogin(t.app);
      const other = await login(t.app, me.email, me.password);
      const wrong = await post(
        '/auth/password',
        { current_password: 'not-my-password', new_password: 'another-long-phrase-7' },
        bearer(me.token),
      );
      expect(wrong.statusCode).toBe(401);
      expect(wrong.json().error_code).toBe('BAD_CREDENTIALS');
      const weak = await post('/auth/password', { current_password: me.password, new_password: 'password1234' }, bearer(me.token));
      expect(weak.json()).toMatchObject({ error_code: 'VALIDATION_FAILED', details: [{ path: 'body.new_password' }] });
      const ok = await post('/auth/password', { current_password: me.password, new_password: 'another-long-phrase-7' }, bearer(me.token));
      expect(ok.json()).toEqual({ revoked_sessions: 1 });
      expect((await t.app.inject({ url: '/api/v1/auth/me', headers: bearer(other.token) })).statusCode).toBe(401);
      expect((await t.app.inject({ url: '/api/v1/auth/me', headers: bearer(me.token) })).statusCode).toBe(200);
      expect((await post('/auth/login', { email: me.email, password: me.password })).statusCode).toBe(401);
      expect((await post('/auth/login', { email: me.email, password: 'another-long-phrase-7' })).statusCode).toBe(200);
    });
  });

  describe('CSRF on cookie-authenticated writes', () => {
    it('rejects a cookie write with no or a foreign Origin, accepts an allowed one, and never needs it for bearer', async () => {
      const me = await registerAndLogin(t.app);
      const cookies = { '__Host-rampart_session': me.cookie };
      const url = '/api/v1/auth/sessions/revoke-others';
      for (const headers of [{}, { origin: 'https://evil.example' }, { 'sec-fetch-site': 'cross-site' }]) {
        const response = await t.app.inject({ method: 'POST', url, cookies, headers });
        expect(response.statusCode).toBe(403);
        expect(response.json().error_code).toBe('CSRF_REJECTED');
      }
      for (const headers of [{ origin: 'https://app.example' }, { 'sec-fetch-site': 'same-origin' }, { origin: 'http://localhost:80' }]) {
        expect((await t.app.inject({ method: 'POST', url, cookies, headers })).statusCode).toBe(200);
      }
      expect((await t.app.inject({ method: 'POST', url, headers: bearer(me.token) })).statusCode).toBe(200);
      // Reads are not writes: a cookie GET needs no Origin.
      expect((await t.app.inject({ url: '/api/v1/auth/me', cookies })).statusCode).toBe(200);
    });
  });
});
