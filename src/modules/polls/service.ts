// Polls and votes: create, list, read and close polls; accept a vote (validate, then dedupe
// and append in one atomic step of the vote log); results from a short cache that each
// applied batch invalidates.
import { randomUUID } from 'node:crypto';
import { type Redis, ReplyError } from 'ioredis';
import type { RateLimiterAbstract } from 'rate-limiter-flexible';
import { AppError } from '../../platform/errors.ts';
import { decodeCursor, isTimestampText, isUuid, keysetPage } from '../../platform/http/keyset.ts';
import type { RequestContext } from '../../platform/http/request-context.ts';
import type { Platform } from '../../platform/platform.ts';
import { RateLimiters, rateLimitedError, reservePoint } from '../../platform/security/rate-limiters.ts';
import type { BatchOutcome, PollRow } from './repo.ts';
import { PollsRepo } from './repo.ts';
import { MemoryResultsCache, RedisResultsCache, type ResultsCache, type ResultsSnapshot } from './results-cache.ts';
import type { VoteLog } from './vote-log.ts';

export interface Caller {
  id: string;
  role: string;
}

export interface PollResults extends ResultsSnapshot {
  total: number;
  /** Accepted votes not yet applied (null when the vote log cannot be asked). */
  pending: number | null;
}

// A vote validates against a poll read at most this long ago; the vote log itself refuses
// a closed poll atomically, so a stale "open" here costs nothing.
const POLL_CACHE_MS = 2_000;
const POLL_CACHE_MAX = 10_000;

export function isOpen(poll: PollRow, now = Date.now()): boolean {
  return poll.closedAt === null && (poll.closesAt === null || poll.closesAt.getTime() > now);
}

export class PollsService {
  readonly #repo: PollsRepo;
  readonly #log: VoteLog;
  readonly #cache: ResultsCache;
  readonly #votesPerAccount: RateLimiterAbstract;
  readonly #polls = new Map<string, { poll: PollRow; expires: number }>();
  /** Votes this process accepted (202), for the vote metrics. */
  accepted = 0;
  /** Votes this process answered 503 after the log lost the answer: each may be counted all the same. */
  outcomeUnknown = 0;

  /** `votePath`: the vote path's own auto-pipelined Redis connection (module.ts), for the per-account vote limit. */
  constructor(platform: Platform, log: VoteLog, votePath?: Redis) {
    const { config } = platform;
    this.#repo = new PollsRepo(platform.db);
    this.#log = log;
    this.#cache = platform.redis
      ? new RedisResultsCache(platform.redis, config.redisKeyPrefix, config.polls.resultsCacheMs)
      : new MemoryResultsCache(config.polls.resultsCacheMs);
    const limiters = votePath ? new RateLimiters(votePath, config.redisKeyPrefix, platform.metrics) : platform.rateLimiters;
    this.#votesPerAccount = limiters.create({
      name: 'votes-account',
      points: config.polls.votesPerAccountPerMinute,
      durationSeconds: 60,
    });
  }

  get repo(): PollsRepo {
    return this.#repo;
  }

  create(ownerId: string, input: { question: string; options: string[]; closesAt?: string | undefined }): Promise<PollRow> {
    const question = input.question.trim();
    const options = input.options.map((option) => option.trim());
    const problems: { path: string; message: string }[] = [];
    if (question === '') problems.push({ path: 'body.question', message: 'must not be blank' });
    options.forEach((option, i) => {
      if (option === '') problems.push({ path: `body.options.${i}`, message: 'must not be blank' });
    });
    if (new Set(options).size !== options.length) problems.push({ path: 'body.options', message: 'must be distinct' });
    let closesAt: Date | null = null;
    if (input.closesAt !== undefined) {
      closesAt = new Date(input.closesAt);
      const time = closesAt.getTime();
      // Postgres holds years 1 to 294276; a closing time is in the future and before year 10000.
      if (!Number.isFinite(time) || time <= Date.now() || time >= Date.UTC(10000, 0, 1)) {
        problems.push({ path: 'body.closes_at', message: 'must be a future date-time before year 10000' });
      }
    }
    if (problems.length > 0) throw new AppError('VALIDATION_FAILED', 'The poll is not valid', { details: problems });
    return this.#repo.insertPoll(ownerId, question, options, closesAt);
  }

  async listMine(ownerId: string, limit: number, cursor: string | undefined): Promise<{ polls: PollRow[]; nextCursor: string | null }> {
    const after = cursor === undefined ? undefined : (decodeCursor(cursor, [isTimestampText, isUuid]) as [string, string]);
    const rows = await this.#repo.listForOwner(ownerId, limit + 1, after);
    const { page, nextCursor } = keysetPage(rows, limit, (row) => [row.position, row.id]);
    return { polls: page.map(({ position: _position, ...poll }) => poll), nextCursor };
  }

  /** Every signed-in account sees every poll. */
  async get(pollId: string): Promise<PollRow> {
    const poll = await this.#repo.findPoll(pollId);
    if (!poll) throw new AppError('NOT_FOUND', 'No such poll');
    return poll;
  }

  async exists(pollId: string): Promise<boolean> {
    return (await this.#repo.findPoll(pollId)) !== undefined;
  }

  /** Owner or admin. The vote log refuses later votes first, then the row records the instant. */
  async close(caller: Caller, pollId: string): Promise<PollRow> {
    const poll = await this.get(pollId);
    if (poll.ownerId !== caller.id && caller.role !== 'admin')
      throw new AppError('FORBIDDEN', 'Only the owner or an admin can close a poll');
    if (poll.closedAt !== null) return poll;
    const closedAt = await this.#log.closePoll(pollId);
    const closed = await this.#repo.closePoll(pollId, closedAt);
    this.#polls.delete(pollId);
    await this.#cache.invalidate([pollId]);
    return closed ?? poll;
  }

  /** 202's vote id, or ALREADY_VOTED / POLL_CLOSED / UNAVAILABLE; never an id for a vote not in the log. */
  async vote(caller: Caller, pollId: string, option: number, context: RequestContext): Promise<string> {
    const limited = await reservePoint(this.#votesPerAccount, caller.id);
    if (limited) throw rateLimitedError(limited, 'Too many votes from this account; try again later');
    const poll = await this.#pollForVote(pollId);
    if (!isOpen(poll)) throw new AppError('POLL_CLOSED', 'The poll is closed');
    if (option >= poll.options.length) {
      throw new AppError('VALIDATION_FAILED', 'No such option', {
        details: [{ path: 'body.option', message: `must be below ${poll.options.length}` }],
      });
    }
    const voteId = randomUUID();
    const outcome = await this.#log.append(
      { voteId, pollId, userId: caller.id, option, requestId: context.requestId },
      poll.closesAt?.getTime() ?? null,
    );
    if (outcome === 'already_voted') throw new AppError('ALREADY_VOTED', 'This account already voted in this poll');
    if (outcome === 'closed') throw new AppError('POLL_CLOSED', 'The poll is closed');
    if (outcome === 'unknown') {
      // Not a 202: a 202 promises the vote counts. The retry settles it (the voter set is exact).
      this.outcomeUnknown += 1;
      throw new AppError(
        'UNAVAILABLE',
        'The vote log did not answer; the vote may have been recorded. Try again shortly: 409 ALREADY_VOTED then means it was',
        { headers: { 'retry-after': '5' } },
      );
    }
    this.accepted += 1;
    return voteId;
  }

  /** From the cache when it holds them; `fresh` reads the database (the realtime updates do). */
  async results(pollId: string, fresh = false): Promise<PollResults> {
    const cached = await this.#cache.get(pollId);
    const snapshot = (fresh ? undefined : cached.snapshot) ?? (await this.#readResults(pollId, cached.generation));
    const pending = await this.#log.pending(pollId).catch((error: unknown) => {
      if (error instanceof ReplyError) throw error;
      return null; // Redis unreachable: the counts are still right, only their freshness is unknown
    });
    return { ...snapshot, total: snapshot.counts.reduce((sum, n) => sum + n, 0), pending };
  }

  async #readResults(pollId: string, generation: string): Promise<ResultsSnapshot> {
    const read = await this.#repo.counts(pollId);
    if (!read) throw new AppError('NOT_FOUND', 'No such poll');
    const snapshot: ResultsSnapshot = {
      pollId,
      options: read.poll.options,
      counts: read.counts,
      rejected: read.poll.rejectedVotes,
      closed: !isOpen(read.poll, read.asOf.getTime()),
      asOf: read.asOf.toISOString(),
    };
    await this.#cache.set(snapshot, generation);
    return snapshot;
  }

  /** After a batch commits: the results of its polls are stale. */
  async applied(outcome: BatchOutcome): Promise<void> {
    await this.#cache.invalidate([...outcome.lastRequestIdByPoll.keys()]);
  }

  async #pollForVote(pollId: string): Promise<PollRow> {
    const now = Date.now();
    const cached = this.#polls.get(pollId);
    if (cached && cached.expires > now) return cached.poll;
    const poll = await this.get(pollId);
    if (this.#polls.size >= POLL_CACHE_MAX) this.#polls.clear();
    this.#polls.set(pollId, { poll, expires: now + POLL_CACHE_MS });
    return poll;
  }
}
