// Votes trimmed from the vote stream before any consumer applied them (scale shape: a real
// consumer on real Redis and Postgres, a stream capped far below its backlog): the consumer
// reports them lost and counts them out of their polls' pending, so a poll's results stop
// saying votes are pending forever, and a poll whose votes were applied is unaffected.
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VoteConsumer } from '../../../src/modules/polls/consumer.ts';
import { RedisVoteLog } from '../../../src/modules/polls/redis-vote-log.ts';
import { PollsRepo } from '../../../src/modules/polls/repo.ts';
import { bearer } from '../../helpers/accounts.ts';
import { scaleUrls } from '../../helpers/shapes.ts';
import { captureLogs, startTestApp, type TestApp } from '../../helpers/test-app.ts';
import { createVoters, type Voter } from '../../helpers/voters.ts';
import { eventually } from '../../helpers/wait.ts';

describe.skipIf(!scaleUrls)('votes trimmed from the stream before they were applied (scale shape)', () => {
  let t: TestApp;
  // No consumer in the app (worker: false): the test runs its own, on a stream capped low.
  beforeAll(async () => {
    t = await startTestApp('scale', { worker: false, env: { POLL_RESULTS_CACHE_MS: '0', API_RATE_LIMIT_PER_MINUTE: '1000000' } });
  });
  afterAll(async () => {
    await t?.close();
  });

  const never = new AbortController().signal;
  const vote = (pollId: string, voter: Voter) => ({
    voteId: randomUUID(),
    pollId,
    userId: voter.userId,
    option: 1,
    requestId: `req-${randomUUID()}`,
  });

  it('reports them lost and counts them out of pending; applied votes count as before', async () => {
    const redis = t.platform.redis as Redis;
    const voters = await createVoters(t.platform.db.query.bind(t.platform.db), 210, 'trim');
    const reader = voters[0] as Voter;
    const results = async (pollId: string) => {
      const response = await t.app.inject({ method: 'GET', url: `/api/v1/polls/${pollId}/results`, headers: bearer(reader.token) });
      expect(response.statusCode, response.body).toBe(200);
      return response.json().results as { total: number; pending: number };
    };
    const repo = new PollsRepo(t.platform.db);
    const [lost, filler, kept] = await Promise.all(
      ['Lost?', 'Filler?', 'Kept?'].map((question) => repo.insertPoll(reader.userId, question, ['a', 'b'], null)),
    );
    if (!lost || !filler || !kept) throw new Error('polls not created');
    // The app's own stream (its key prefix), appended to with a cap of 20 entries.
    const log = new RedisVoteLog(redis, t.config.redisKeyPrefix, 20, 100);
    await log.prepare();

    // Five votes for `lost`: a consumer that then died read three, nobody read the other two.
    for (const voter of voters.slice(0, 5)) expect(await log.append(vote(lost.id, voter), null)).toBe('accepted');
    const lostIds = (await redis.xrange(log.streamKey, '-', '+')).map(([id]) => id);
    expect(lostIds).toHaveLength(5);
    expect(await log.read('died', 3, 100, never)).toHaveLength(3);
    // The backlog outgrows the cap: 200 votes for `filler` trim the oldest entries away; then `kept`'s five.
    for (const voter of voters.slice(5, 205)) await log.append(vote(filler.id, voter), null);
    for (const voter of voters.slice(205)) await log.append(vote(kept.id, voter), null);
    const survivors = await redis.xrange(log.streamKey, '-', '+');
    const survivorIds = new Set(survivors.map(([id]) => id));
    expect(lostIds.filter((id) => survivorIds.has(id))).toEqual([]);
    const fillerLeft = survivors.filter(([, fields]) => fields.includes(filler.id)).length;
    expect(fillerLeft).toBeLessThan(200);
    expect(survivors.filter(([, fields]) => fields.includes(kept.id))).toHaveLength(5);
    expect((await results(lost.id)).pending).toBe(5);

    const { lines, stream } = captureLogs();
    const config = { ...t.config.polls, batchSize: 50, blockMs: 100, claimIdleMs: 50, claimIntervalMs: 50 };
    const consumer = new VoteConsumer(log, repo, config, pino({ level: 'info' }, stream), async () => {});
    await consumer.start();
    try {
      // Caught up, with or without the fix: what survived is applied, and the stale claim has
      // taken the dead consumer's entries off the pending list (Redis drops trimmed ids there).
      // Its first round swept the index before it read anything; stop() lets the round in hand end.
      await eventually(async () => {
        const applied = (await results(filler.id)).total === fillerLeft && (await results(kept.id)).total === 5;
        return applied && Object.keys(await log.pendingByConsumer()).length === 0;
      }, 30_000);
    } finally {
      await consumer.stop();
    }
    // Before the fix: `lost` said 5 pending forever, `filler` its trimmed ones.
    const after = await Promise.all([lost, filler, kept].map((poll) => results(poll.id)));
    expect(after.map((poll) => [poll.total, poll.pending])).toEqual([
      [0, 0],
      [fillerLeft, 0],
      [5, 0],
    ]);

    // Every trimmed entry reported once: the three read ones by the stale claim (only it takes
    // them off the pending list), the rest by the sweep.
    const reported = lines.filter((line) => line.event === 'polls.votes_lost').flatMap((line) => line.entry_ids as string[]);
    expect(new Set(reported).size).toBe(reported.length);
    expect(reported).toEqual(expect.arrayContaining(lostIds));
    expect(reported).toHaveLength(5 + 200 - fillerLeft);
    expect(await log.pendingByConsumer()).toEqual({});
    // Counted out and acknowledged, nothing left in the entry index or the counts.
    const left = ['votes:entry-polls', ...[lost, filler, kept].map((poll) => `pending:${poll.id}`)];
    expect(await redis.exists(...left.map((key) => `${t.config.redisKeyPrefix}polls:${key}`))).toBe(0);
  });
});
