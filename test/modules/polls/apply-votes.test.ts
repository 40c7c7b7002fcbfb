// Applying a batch of votes (one statement): what is counted, what a redelivery changes (nothing),
// what a close refuses (counted as rejected), and which entries name no poll or option.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PollsRepo } from '../../../src/modules/polls/repo.ts';
import type { Vote } from '../../../src/modules/polls/vote-log.ts';
import { shapes } from '../../helpers/shapes.ts';
import { startTestApp, type TestApp } from '../../helpers/test-app.ts';
import { createVoters, type Voter } from '../../helpers/voters.ts';

describe.each(shapes)('applying a batch of votes (%s shape)', (shape) => {
  let t: TestApp;
  let repo: PollsRepo;
  let voters: Voter[];

  beforeAll(async () => {
    t = await startTestApp(shape, { worker: false });
    repo = new PollsRepo(t.platform.db);
    voters = await createVoters((text, params) => t.platform.db.query(text, params), 6, 'apply');
  });
  afterAll(() => t.close());

  const vote = (pollId: string, voter: Voter, option: number, acceptedAt = Date.now()): Vote => ({
    voteId: randomUUID(),
    pollId,
    userId: voter.userId,
    option,
    requestId: `req-${randomUUID()}`,
    acceptedAt,
  });
  const counts = async (pollId: string) => {
    const read = await repo.counts(pollId);
    return { counts: read?.counts, rejected: read?.poll.rejectedVotes };
  };

  it('counts each vote once, a redelivered batch changes nothing, and names the entries it cannot use', async () => {
    const [a, b, c] = voters as [Voter, Voter, Voter];
    const poll = await repo.insertPoll(a.userId, 'Q?', ['x', 'y', 'z'], null);
    const batch = [vote(poll.id, a, 0), vote(poll.id, b, 2), vote(poll.id, c, 2)];
    const noPoll = vote(randomUUID(), a, 0);
    const noOption = vote(poll.id, a, 7);
    const first = await repo.applyVotes([...batch, noPoll, noOption]);
    expect(first).toMatchObject({ applied: 3, rejected: 0, duplicates: 0 });
    expect(first.unusable).toEqual([noPoll, noOption]);
    expect(first.lastRequestIdByPoll.get(poll.id)).toBe(batch[2]?.requestId);
    expect(await counts(poll.id)).toEqual({ counts: [1, 0, 2], rejected: 0 });

    const again = await repo.applyVotes(batch);
    expect(again).toMatchObject({ applied: 0, rejected: 0, duplicates: 3, unusable: [] });
    expect(again.lastRequestIdByPoll.size).toBe(0);
    // The same account again under a new vote id is no second vote either.
    expect(await repo.applyVotes([vote(poll.id, a, 1)])).toMatchObject({ applied: 0, duplicates: 1 });
    expect(await counts(poll.id)).toEqual({ counts: [1, 0, 2], rejected: 0 });
  });

  it('counts a vote accepted before the close and keeps one accepted after it as rejected, across polls in one batch', async () => {
    const [a, b, c, d] = voters.slice(2) as [Voter, Voter, Voter, Voter];
    const closing = await repo.insertPoll(a.userId, 'Closing?', ['x', 'y'], null);
    const open = await repo.insertPoll(a.userId, 'Open?', ['x', 'y'], null);
    const closedAt = Date.now() - 1_000;
    await repo.closePoll(closing.id, closedAt);
    const outcome = await repo.applyVotes([
      vote(closing.id, a, 0, closedAt - 1),
      vote(closing.id, b, 1, closedAt),
      vote(closing.id, c, 1, closedAt + 1),
      vote(open.id, d, 1),
    ]);
    // Accepted at the close instant itself: still before it (the log refuses only later appends).
    expect(outcome).toMatchObject({ applied: 3, rejected: 1, duplicates: 0, unusable: [] });
    expect(await counts(closing.id)).toEqual({ counts: [1, 1], rejected: 1 });
    expect(await counts(open.id)).toEqual({ counts: [0, 1], rejected: 0 });
  });
});
