// A vote whose append reached Redis but whose answer never came back (Redis held it past the
// command timeout: CLIENT PAUSE WRITE on a server of the test's own): the API answers 503 and
// says the vote may have been recorded, the retry it asks for settles it (409 ALREADY_VOTED),
// the vote counts once, and /metrics counts the unknown outcome.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, registerAndLogin, type SignedIn } from '../../helpers/accounts.ts';
import { type OwnRedis, startOwnRedis } from '../../helpers/own-redis.ts';
import { scaleUrls } from '../../helpers/shapes.ts';
import { startTestApp, type TestApp } from '../../helpers/test-app.ts';
import { createVoters } from '../../helpers/voters.ts';
import { eventually } from '../../helpers/wait.ts';

describe.skipIf(!scaleUrls)('a vote whose answer Redis lost', () => {
  let own: OwnRedis;
  let t: TestApp;
  let owner: SignedIn;
  beforeAll(async () => {
    own = await startOwnRedis();
    t = await startTestApp('scale', {
      env: {
        REDIS_URL: own.url,
        VOTE_BLOCK_MS: '200',
        VOTE_CLAIM_IDLE_MS: '300',
        VOTE_CLAIM_INTERVAL_MS: '100',
        VOTE_RATE_LIMIT_PER_MINUTE: '1000',
      },
    });
    owner = await registerAndLogin(t.app);
  });
  afterAll(async () => {
    await t?.close();
    own?.stop();
  });

  it('answers 503 saying it may count; the retry answers ALREADY_VOTED and it counts once', async () => {
    const created = await t.app.inject({
      method: 'POST',
      url: '/api/v1/polls',
      headers: bearer(owner.token),
      payload: { question: 'Tabs or spaces?', options: ['tabs', 'spaces'] },
    });
    const pollId = created.json().poll.id as string;
    const [first, voter] = await createVoters(t.platform.db.query.bind(t.platform.db), 2);
    const vote = (token: string) =>
      t.app.inject({ method: 'POST', url: `/api/v1/polls/${pollId}/votes`, headers: bearer(token), payload: { option: 1 } });
    // A vote first: Redis then holds the vote script (a fresh server would answer NOSCRIPT).
    expect((await vote(first?.token ?? '')).statusCode).toBe(202);

    // Held past the vote path's 500 ms timeouts (the per-account limit's, then the append's),
    // until lifted (the pause outlasts any stall of this machine).
    await own.direct.client('PAUSE', 60_000, 'WRITE');
    const lost = await vote(voter?.token ?? '');
    await own.direct.client('UNPAUSE');
    expect(lost.statusCode, lost.body).toBe(503);
    expect(lost.json()).toMatchObject({ error_code: 'UNAVAILABLE' });
    expect(lost.json().message).toMatch(/may have been recorded/);
    expect(lost.headers['retry-after']).toBe('5');

    // Once Redis runs what it held, the retry says the vote was recorded, and it counts once.
    // A retry that still meets a Redis catching up gets the same 503.
    let lostAgain = 0;
    const retry = await eventually(async () => {
      const response = await vote(voter?.token ?? '');
      if (response.statusCode !== 503) return response;
      expect(response.json().message).toMatch(/may have been recorded/);
      lostAgain += 1;
      return undefined;
    }, 30_000);
    expect([retry.statusCode, retry.json().error_code]).toEqual([409, 'ALREADY_VOTED']);
    const results = await eventually(async () => {
      const response = await t.app.inject({ method: 'GET', url: `/api/v1/polls/${pollId}/results`, headers: bearer(owner.token) });
      const body = response.json().results as { total: number; pending: number | null; options: { votes: number }[] };
      return body.pending === 0 && body.total === 2 ? body : undefined;
    }, 30_000);
    expect(results.options.map((option) => option.votes)).toEqual([0, 2]);
    const metrics = (await t.app.inject({ url: '/metrics' })).body;
    expect(metrics).toMatch(new RegExp(`^rampart_votes_total\\{outcome="unknown"\\} ${1 + lostAgain}$`, 'm'));
    expect(metrics).toMatch(/^rampart_votes_total\{outcome="accepted"\} 1$/m);
  });
});
