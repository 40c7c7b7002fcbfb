// The Redis Stream vote log on a real Redis: dedupe + append, the close marker, the keys a
// finished poll leaves behind, claiming with delivery counts, entries trimmed before
// acknowledgement reported as lost and counted out of their polls' pending exactly once (read
// or unread), forgetting consumer names of processes long gone, a full
// Redis (a server of the test's own, filled past its maxmemory) answered as an outage, and an
// append whose answer was lost reported as unknown.
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { RedisVoteLog } from '../../../src/modules/polls/redis-vote-log.ts';
import { createRedis, waitForRedis } from '../../../src/platform/redis.ts';
import { startOwnRedis } from '../../helpers/own-redis.ts';
import { freePort } from '../../helpers/processes.ts';
import { scaleUrls } from '../../helpers/shapes.ts';
import { eventually } from '../../helpers/wait.ts';

describe.skipIf(!scaleUrls)('the Redis Stream vote log', () => {
  const redis = scaleUrls ? new Redis(scaleUrls.redis) : undefined;
  const prefix = `tlog${randomUUID().slice(0, 8)}:`;
  afterAll(async () => {
    const keys = (await redis?.keys(`${prefix}*`)) ?? [];
    if (keys.length > 0) await redis?.del(...keys);
    redis?.disconnect();
  });
  const never = new AbortController().signal;
  const vote = (pollId: string, userId = randomUUID()) => ({ voteId: randomUUID(), pollId, userId, option: 1, requestId: 'r1' });

  it('dedupes, refuses after the close, and counts pending per poll', async () => {
    const log = new RedisVoteLog(redis as Redis, prefix, 1000, 100);
    await log.prepare();
    await log.prepare(); // idempotent
    const poll = randomUUID();
    const first = vote(poll);
    expect(await log.append(first, null)).toBe('accepted');
    expect(await log.append({ ...first, voteId: randomUUID() }, null)).toBe('already_voted');
    expect(await log.append(vote(poll), Date.now() - 1)).toBe('closed');
    expect(await log.pending(poll)).toBe(1);
    const closedAt = await log.closePoll(poll);
    expect(Math.abs(closedAt - Date.now())).toBeLessThan(60_000);
    expect(await log.append(vote(poll), null)).toBe('closed');
    const [entry] = await log.read('c1', 10, 100, never);
    expect(entry?.fields).toMatchObject({ v: first.voteId, p: poll, u: first.userId, o: '1', r: 'r1' });
    expect(await log.pendingByConsumer()).toEqual({ c1: 1 });
    await log.acknowledge(entry ? [entry, entry] : []); // twice: counted down once
    expect(await log.pending(poll)).toBe(0);
    expect(await log.lag()).toBe(0);
    // Closed and applied: of the poll's keys only the close marker is left, not a key per voter.
    expect(await redis?.keys(`${prefix}*${poll}*`)).toEqual([`${prefix}polls:closed:${poll}`]);
    await log.release();
  });

  it('forgets who voted once closes_at passes, and honours a per-vote key of an older release', async () => {
    const log = new RedisVoteLog(redis as Redis, `${prefix}c:`, 1000, 100);
    await log.prepare();
    const poll = randomUUID();
    const voters = `${prefix}c:polls:voters:${poll}`;
    const closesAt = Date.now() + 3_000;
    expect(await log.append(vote(poll), closesAt)).toBe('accepted');
    expect(await log.append(vote(poll), closesAt)).toBe('accepted');
    expect(await redis?.scard(voters)).toBe(2);
    expect(Number(await redis?.call('PEXPIRETIME', voters))).toBe(closesAt);
    // An account that voted under the old one-key-per-vote layout cannot vote again.
    const earlier = randomUUID();
    await redis?.set(`${prefix}c:polls:voted:${poll}:${earlier}`, 'old-vote-id');
    expect(await log.append(vote(poll, earlier), closesAt)).toBe('already_voted');
    while (Date.now() <= closesAt) await new Promise((resolve) => setTimeout(resolve, 100));
    expect(await redis?.exists(voters)).toBe(0);
    expect(await log.append(vote(poll), closesAt)).toBe('closed');
    await log.release();
  });

  it('claims with delivery counts, reports trimmed entries as lost, forgets idle consumers', async () => {
    const log = new RedisVoteLog(redis as Redis, `${prefix}b:`, 1000, 100);
    await log.prepare();
    const poll = randomUUID();
    await log.append(vote(poll), null);
    await log.append(vote(poll), null);
    const read = await log.read('dead', 1, 100, never);
    expect(read).toHaveLength(1);
    const claimed = await log.claimStale('alive', 0, 10);
    expect(claimed.entries.map((entry) => [entry.id, entry.deliveries])).toEqual([[read[0]?.id, 2]]);
    await log.deadLetter({ ...(claimed.entries[0] as (typeof claimed.entries)[number]) }, 'test');
    expect(await log.deadLetterCount()).toBe(1);
    expect(await log.pending(poll)).toBe(1);
    // The second entry is read, then trimmed away before anyone acknowledges it.
    const [second] = await log.read('dead', 1, 100, never);
    await redis?.xtrim(log.streamKey, 'MAXLEN', 0);
    const after = await log.claimStale('alive', 0, 10);
    expect(after).toEqual({ entries: [], lost: [second?.id] });
    expect(await log.pending(poll)).toBe(0);
    // The dead-lettered entry, trimmed too, left the entry index with its XACK: no sweep counts it again.
    expect(await log.sweepTrimmed(100)).toEqual({ lost: [], more: false });
    expect(await redis?.exists(`${prefix}b:polls:votes:entry-polls`)).toBe(0);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect((await log.forgetIdleConsumers(10)).sort()).toEqual(['alive', 'dead']);
    expect(await log.pendingByConsumer()).toEqual({});
    await log.release();
  });

  it('counts entries trimmed before acknowledgement out of their polls once, read or unread, and leaves held ones to their consumer', async () => {
    const log = new RedisVoteLog(redis as Redis, `${prefix}t:`, 1000, 100);
    await log.prepare();
    const [lostPoll, keptPoll] = [randomUUID(), randomUUID()];
    // In stream order: kept 1 (held by a live consumer), lost 1-2 (read by one that died), lost 3 (never read), kept 2.
    await log.append(vote(keptPoll), null);
    const [held] = await log.read('live', 1, 100, never);
    await log.append(vote(lostPoll), null);
    await log.append(vote(lostPoll), null);
    const read = await log.read('dead', 2, 100, never);
    await log.append(vote(lostPoll), null);
    await log.append(vote(keptPoll), null);
    const ids = ((await redis?.xrange(log.streamKey, '-', '+')) ?? []).map(([id]) => id);
    expect(ids).toHaveLength(5);
    expect([held?.id, ...read.map((entry) => entry.id)]).toEqual(ids.slice(0, 3));
    // Trimmed away: all but kept 2.
    await redis?.xtrim(log.streamKey, 'MINID', ids[4] as string);
    expect([await log.pending(lostPoll), await log.pending(keptPoll)]).toEqual([3, 2]);

    // The sweep finds the entry nobody read; it leaves the read ones (still pending) to a claim.
    expect(await log.sweepTrimmed(100)).toEqual({ lost: [ids[3]], more: false });
    expect([await log.pending(lostPoll), await log.pending(keptPoll)]).toEqual([2, 2]);
    // The live consumer, fields in hand, applies and acknowledges its entry though it is trimmed.
    await log.acknowledge(held ? [held] : []);
    expect(await log.pending(keptPoll)).toBe(1);
    // Only the dead consumer's entries are lost now: counted out once, whoever names them again.
    expect(await log.claimStale('alive', 0, 10)).toEqual({ entries: [], lost: ids.slice(1, 3) });
    expect([await log.pending(lostPoll), await log.pending(keptPoll)]).toEqual([0, 1]);
    expect(await log.sweepTrimmed(100)).toEqual({ lost: [], more: false });
    expect(await log.claimStale('alive', 0, 10)).toEqual({ entries: [], lost: [] });
    expect([await log.pending(lostPoll), await log.pending(keptPoll)]).toEqual([0, 1]);

    await log.acknowledge(await log.read('live', 10, 100, never));
    expect(await log.pending(keptPoll)).toBe(0);
    // Nothing left to settle: the entry index is empty (so gone), and so are both counts.
    const left = [`votes:entry-polls`, `pending:${lostPoll}`, `pending:${keptPoll}`].map((key) => `${prefix}t:polls:${key}`);
    expect(await redis?.exists(...left)).toBe(0);
    await log.release();
  });

  it('leaves an entry an older release appended (no index field) to its count when it is trimmed, and breaks nothing', async () => {
    const log = new RedisVoteLog(redis as Redis, `${prefix}o:`, 1000, 100);
    await log.prepare();
    const poll = randomUUID();
    // What APPEND did before the entry index: the entry and the count, nothing else.
    await redis?.xadd(log.streamKey, '*', 'v', randomUUID(), 'p', poll, 'u', randomUUID(), 'o', '1', 'r', 'r1', 't', Date.now());
    await redis?.incr(`${prefix}o:polls:pending:${poll}`);
    await log.append(vote(poll), null);
    const [old] = await log.read('dead', 1, 100, never);
    await redis?.xtrim(log.streamKey, 'MAXLEN', 0);
    expect(await log.claimStale('alive', 0, 10)).toEqual({ entries: [], lost: [old?.id] });
    expect((await log.sweepTrimmed(100)).lost).toHaveLength(1); // the new one, never read
    expect(await log.pending(poll)).toBe(1); // the old one's, never counted down
    await log.release();
  });

  it('answers a vote with 503 UNAVAILABLE, not a 500, when a full Redis refuses writes (noeviction)', async () => {
    const own = await startOwnRedis(['--maxmemory-policy', 'noeviction']);
    const full = own.direct;
    try {
      const log = new RedisVoteLog(full, 'oom:', 1000, 100);
      await log.prepare();
      const poll = randomUUID();
      expect(await log.append(vote(poll), null)).toBe('accepted');
      // Full, and well past the limit: 2 MB of keys, then a limit of 1 MB. Filling up to the
      // limit instead leaves Redis at its edge, where freeing a refused command's buffers lets
      // the next write in.
      for (let i = 0; i < 2_000; i += 1) await full.set(`fill:${i}`, 'x'.repeat(1024));
      await full.config('SET', 'maxmemory', '1mb');
      await expect(full.set('one-more', 'x')).rejects.toThrow(/^OOM/);
      await expect(log.append(vote(poll), null)).rejects.toMatchObject({ code: 'UNAVAILABLE', status: 503 });
      await expect(log.append(vote(poll), null)).rejects.toMatchObject({ code: 'UNAVAILABLE' });
      expect(await log.pending(poll)).toBe(1);
    } finally {
      own.stop();
    }
  });

  it('answers unknown, not unavailable, when the append was sent and its answer lost; the vote then counts once', async () => {
    const own = await startOwnRedis();
    // The platform's client and the vote path's auto-pipelined connection, as module.ts makes
    // them; the server holds writes (CLIENT PAUSE WRITE) past their 500 ms command timeout.
    const client = createRedis(own.url, pino({ level: 'silent' }));
    const appender = client.duplicate({ enableAutoPipelining: true });
    appender.on('error', () => {});
    let nowhere: Redis | undefined;
    try {
      await Promise.all([waitForRedis(client, 10_000), waitForRedis(appender, 10_000)]);
      const log = new RedisVoteLog(client, 'lost:', 1000, 100, appender);
      await log.prepare();
      const poll = randomUUID();
      const voter = randomUUID();
      // One vote first, so Redis holds the script (a fresh server answers NOSCRIPT, not a vote).
      expect(await log.append(vote(poll), null)).toBe('accepted');
      await own.direct.client('PAUSE', 30_000, 'WRITE');
      expect(await log.append(vote(poll, voter), null)).toBe('unknown');
      await own.direct.client('UNPAUSE');
      // The held script runs once the pause is lifted: the vote is in the log after all, and the
      // retry the 503 asks for says so.
      expect(await eventually(async () => (await log.pending(poll)) === 2, 10_000)).toBe(true);
      expect(await log.append(vote(poll, voter), null)).toBe('already_voted');
      expect(await own.direct.xlen('lost:polls:votes')).toBe(2);
      // A connection that is not up never sends: that vote surely did not reach the log.
      nowhere = createRedis(`redis://127.0.0.1:${await freePort()}`, pino({ level: 'silent' }));
      const unreachable = new RedisVoteLog(nowhere, 'lost:', 1000, 100);
      await expect(unreachable.append(vote(poll), null)).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    } finally {
      nowhere?.disconnect();
      appender.disconnect();
      client.disconnect();
      own.stop();
    }
  });
});
