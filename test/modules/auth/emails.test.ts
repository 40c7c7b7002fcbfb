// Acceptance: one person, one address. Emails are compared after NFKC + case folding,
// look-alikes of a taken address are refused like the address itself, invisible
// characters are refused, and accounts from before the skeleton column get one.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GOOD_PASSWORD } from '../../helpers/accounts.ts';
import { scaleUrls, shapes } from '../../helpers/shapes.ts';
import { startTestApp, type TestApp } from '../../helpers/test-app.ts';
import { eventually } from '../../helpers/wait.ts';

const CYRILLIC_A = '\u0430';
const CYRILLIC_O = '\u043e';

/** A fresh ASCII local part, so tests never meet each other's accounts. */
const fresh = (label: string) => `${label}${randomBytes(3).toString('hex')}`;

// An account made before migration 0006: its email in the old normal form (NFC + toLowerCase), no skeleton.
async function insertLegacyUser(t: TestApp, email: string): Promise<string> {
  const [row] = await t.platform.db.query<{ id: string }>(
    "insert into users (email, display_name, password_hash) values ($1, 'Legacy', 'not-a-hash') returning id",
    [email],
  );
  return (row as { id: string }).id;
}

describe.each(shapes)('email identity (%s shape)', (shape) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp(shape);
  });
  afterAll(() => t.close());

  const register = (email: string) =>
    t.app.inject({ method: 'POST', url: '/api/v1/auth/register', payload: { email, password: GOOD_PASSWORD, display_name: 'A' } });
  const login = (email: string) => t.app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { email, password: GOOD_PASSWORD } });

  it('refuses a look-alike of a taken email with the very answer a taken email gets', async () => {
    const local = fresh('alice');
    expect((await register(`${local}@example.test`)).statusCode).toBe(201);
    const taken = await register(`${local}@example.test`);
    for (const lookAlike of [`${CYRILLIC_A}${local.slice(1)}@example.test`, `${local}@ex${CYRILLIC_A}mple.test`]) {
      const response = await register(lookAlike);
      expect(response.statusCode).toBe(409);
      expect({ ...response.json(), request_id: undefined }).toEqual({ ...taken.json(), request_id: undefined });
    }
    // The look-alike is no way into the real account either.
    expect((await login(`${CYRILLIC_A}${local.slice(1)}@example.test`)).statusCode).toBe(401);
  });

  it('lets only one of two look-alikes registered at the same moment through', async () => {
    const local = fresh('bob');
    const responses = await Promise.all([register(`${local}@example.test`), register(`${local.replace('o', CYRILLIC_O)}@example.test`)]);
    expect(responses.map((response) => response.statusCode).sort()).toEqual([201, 409]);
  });

  it('treats compatibility forms and case variants as the same address, at registration and at login', async () => {
    const local = fresh('strasse');
    const registered = await register(`${local.toUpperCase()}@Example.test`);
    expect(registered.statusCode).toBe(201);
    expect(registered.json().user.email).toBe(`${local}@example.test`);
    // ß folds to ss (toLowerCase keeps it), and fullwidth letters are NFKC-equal to ASCII.
    const sharpS = local.replace('ss', '\u00df');
    const fullwidth = [...local].map((c) => (/[a-z]/.test(c) ? String.fromCodePoint((c.codePointAt(0) as number) + 0xfee0) : c)).join('');
    expect((await register(`${sharpS}@example.test`)).statusCode).toBe(409);
    expect((await register(`${fullwidth}@example.test`)).statusCode).toBe(409);
    expect((await login(`${sharpS.toUpperCase()}@EXAMPLE.TEST`)).statusCode).toBe(200);
    expect((await login(`${fullwidth}@example.test`)).statusCode).toBe(200);
  });

  it.each([
    ['a zero-width space', '\u200b'],
    ['a zero-width non-joiner', '\u200c'],
    ['a zero-width joiner', '\u200d'],
    ['a word joiner', '\u2060'],
    ['a soft hyphen', '\u00ad'],
    ['a left-to-right mark', '\u200e'],
    ['a right-to-left override', '\u202e'],
    ['a left-to-right isolate', '\u2066'],
    ['a pop directional isolate', '\u2069'],
    ['a Hangul filler', '\u3164'],
  ])('refuses an email with %s (400 on body.email)', async (_label, invisible) => {
    const response = await register(`${fresh('eve')}${invisible}x@example.test`);
    expect(response.statusCode).toBe(400);
    expect(response.json()).toMatchObject({ error_code: 'VALIDATION_FAILED', details: [{ path: 'body.email' }] });
  });

  it('refuses a byte-order mark in an email (400 on body.email)', async () => {
    const response = await register(`\ufeff${fresh('eve')}@example.test`);
    expect(response.statusCode).toBe(400);
    expect(response.json()).toMatchObject({ error_code: 'VALIDATION_FAILED', details: [{ path: 'body.email' }] });
  });

  it('does not let an invisible character reach an account at login', async () => {
    const local = fresh('zed');
    expect((await register(`${local}@example.test`)).statusCode).toBe(201);
    expect((await login(`${local}\u200b@example.test`)).statusCode).toBe(401);
  });

  it('accepts a long address whose skeleton is many times its size (Hangul syllables decompose into mapped jamo)', async () => {
    // Random syllables, so the database cannot shrink the index entry by compressing a repeated pattern.
    const syllables = Array.from(randomBytes(480).subarray(0, 240), (byte, i) => String.fromCodePoint(0xac00 + byte * 44 + (i % 44))).join(
      '',
    );
    const response = await register(`${syllables}@example.test`);
    expect(response.statusCode).toBe(201);
  });

  it('refuses an address that only becomes malformed once normalised (fullwidth @)', async () => {
    const response = await register(`${fresh('two')}\uff20x@example.test`);
    expect(response.statusCode).toBe(400);
    expect(response.json()).toMatchObject({ error_code: 'VALIDATION_FAILED', details: [{ path: 'body.email' }] });
  });

  it('backfills accounts from before the skeleton column (hourly job): their owners still sign in, look-alikes are refused', async () => {
    // An account stored under the old normal form (NFC + toLowerCase keeps ß), with no skeleton.
    const local = fresh('legacy');
    const created = await register(`${local}ss@example.test`);
    const legacyId = created.json().user.id as string;
    await t.platform.db.query('update users set email = $1, email_skeleton_hash = null where id = $2', [
      `${local}\u00df@example.test`,
      legacyId,
    ]);
    // Two old accounts that cannot be told apart (Cyrillic і for Latin i).
    const twin = fresh('twin');
    const twins = [
      await insertLegacyUser(t, `${twin}@example.test`),
      await insertLegacyUser(t, `${twin.replace('i', '\u0456')}@example.test`),
    ];

    await t.platform.db.transaction((tx) => t.platform.jobs.enqueue(tx, 'auth.backfill-email-skeletons', {}));
    await eventually(async () => t.logs.some((line) => line.event === 'auth.email_skeletons_backfilled'));

    expect((await login(`${local.toUpperCase()}\u00df@example.test`)).statusCode).toBe(200);
    expect((await login(`${local}SS@example.test`)).statusCode).toBe(200);
    expect((await register(`${local.replace('e', '\u0435')}ss@example.test`)).statusCode).toBe(409);
    // The second of the twins keeps no skeleton, and an operator is told which account it collides with.
    const conflict = t.logs.find((line) => line.event === 'auth.email_skeleton_conflict');
    expect(twins).toContain(conflict?.user_id);
    expect(conflict?.conflicts_with).toBe(twins.find((id) => id !== conflict?.user_id));
    const skeletons = await t.platform.db.query<{ email_skeleton_hash: string | null }>(
      'select email_skeleton_hash from users where id = any($1::uuid[])',
      [twins],
    );
    expect(skeletons.filter((row) => row.email_skeleton_hash === null)).toHaveLength(1);
  });
});

describe.runIf(scaleUrls)('email skeleton backfill at start-up (scale shape)', () => {
  it('gives old accounts their skeleton before the restarted service takes a request', async () => {
    const before = await startTestApp('scale');
    let after: TestApp | undefined;
    try {
      const local = fresh('restart');
      const id = await insertLegacyUser(before, `${local}@example.test`);
      after = await startTestApp('scale', { databaseUrl: before.config.databaseUrl });
      const [row] = await after.platform.db.query<{ email_skeleton_hash: string | null }>(
        'select email_skeleton_hash from users where id = $1',
        [id],
      );
      expect(row?.email_skeleton_hash).not.toBeNull();
      const lookAlike = await after.app.inject({
        method: 'POST',
        url: '/api/v1/auth/register',
        payload: { email: `${local.replace('e', '\u0435')}@example.test`, password: GOOD_PASSWORD, display_name: 'B' },
      });
      expect(lookAlike.statusCode).toBe(409);
    } finally {
      await after?.close();
      await before.close();
    }
  });
});
