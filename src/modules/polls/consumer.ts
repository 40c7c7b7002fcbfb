// The vote consumer, a loop of the polls module: reads batches from the vote log, applies
// each in one statement, acknowledges after commit, claims entries a dead consumer left
// pending, and moves an entry delivered more than N times to the dead letters. stop() lets
// the batch in hand finish and be acknowledged, then resolves.
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import type { PollsConfig } from '../../config.ts';
import { isDependencyUnavailable } from '../../platform/errors.ts';
import type { Loop } from '../../platform/module.ts';
import type { BatchOutcome, PollsRepo } from './repo.ts';
import { type LogEntry, parseVote, type Vote, type VoteLog } from './vote-log.ts';

/** What the consumer tells the rest of the module after a commit. */
export type AppliedListener = (outcome: BatchOutcome) => Promise<void>;

export interface ConsumerStats {
  batches: number;
  applied: number;
  rejected: number;
  duplicates: number;
  claimed: number;
  deadLettered: number;
}

const RETRY_MS = 500;
const MAX_RETRY_MS = 5_000;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export class VoteConsumer implements Loop {
  readonly name = 'vote-consumer';
  /** One name per process: the group tracks what each consumer holds by it. */
  readonly consumerName = `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
  readonly stats: ConsumerStats = { batches: 0, applied: 0, rejected: 0, duplicates: 0, claimed: 0, deadLettered: 0 };
  readonly #log: VoteLog;
  readonly #repo: PollsRepo;
  readonly #config: PollsConfig;
  readonly #logger: Logger;
  readonly #onApplied: AppliedListener;
  #stopping = false;
  #stop = new AbortController();
  #running: Promise<void> | undefined;

  constructor(log: VoteLog, repo: PollsRepo, config: PollsConfig, logger: Logger, onApplied: AppliedListener) {
    this.#log = log;
    this.#repo = repo;
    this.#config = config;
    this.#logger = logger.child({ loop: this.name, consumer: this.consumerName });
    this.#onApplied = onApplied;
  }

  async start(): Promise<void> {
    if (this.#running) return;
    this.#stopping = false;
    this.#stop = new AbortController();
    this.#running = this.#run();
    this.#logger.info({ log: this.#log.kind }, 'vote consumer started');
  }

  async stop(): Promise<void> {
    this.#stopping = true;
    this.#stop.abort();
    this.#log.wake();
    await this.#running;
    this.#running = undefined;
    await this.#log.release();
    this.#logger.info({ ...this.stats }, 'vote consumer stopped');
  }

  async #run(): Promise<void> {
    let lastClaim = 0;
    let failures = 0;
    let prepared = false;
    while (!this.#stopping) {
      try {
        if (!prepared) {
          await this.#log.prepare();
          prepared = true;
        }
        if (Date.now() - lastClaim >= this.#config.claimIntervalMs) {
          lastClaim = Date.now();
          await this.#claimStale();
          await this.#sweepTrimmed();
          await this.#forgetGoneConsumers();
        }
        const entries = await this.#log.read(this.consumerName, this.#config.batchSize, this.#config.blockMs, this.#stop.signal);
        // Read before stop was asked, or while it was: this batch is in hand, so it is finished.
        if (entries.length > 0) await this.#process(entries);
        failures = 0;
      } catch (error) {
        failures += 1;
        // The group is gone (Redis lost its data): create it again before the next read.
        if (error instanceof Error && error.message.includes('NOGROUP')) prepared = false;
        const level = isDependencyUnavailable(error) || /timed out/i.test(String(error)) ? 'warn' : 'error';
        this.#logger[level]({ err: error, failures }, 'vote consumer round failed; retrying');
        if (!this.#stopping) await sleep(Math.min(MAX_RETRY_MS, RETRY_MS * failures));
      }
    }
  }

  async #claimStale(): Promise<void> {
    for (let round = 0; round < 100 && !this.#stopping; round += 1) {
      const { entries: claimed, lost } = await this.#log.claimStale(this.consumerName, this.#config.claimIdleMs, this.#config.batchSize);
      this.#reportLost(lost);
      if (claimed.length === 0) return;
      this.stats.claimed += claimed.length;
      this.#logger.info({ claimed: claimed.length }, 'claimed vote entries idle past the threshold');
      const alive: LogEntry[] = [];
      for (const entry of claimed) {
        if (entry.deliveries > this.#config.maxDeliveries) await this.#deadLetter(entry);
        else alive.push(entry);
      }
      if (alive.length > 0) await this.#process(alive);
      if (claimed.length < this.#config.batchSize) return;
    }
  }

  /** A claim reports lost only entries someone had read; those trimmed unread the log finds by a sweep. */
  async #sweepTrimmed(): Promise<void> {
    for (let round = 0; round < 100 && !this.#stopping; round += 1) {
      const { lost, more } = await this.#log.sweepTrimmed(this.#config.batchSize);
      this.#reportLost(lost);
      if (!more) return;
    }
  }

  #reportLost(lost: string[]): void {
    if (lost.length === 0) return;
    // Accepted votes trimmed from the stream before anyone applied them: VOTE_STREAM_MAX_LENGTH is below the backlog.
    this.#logger.error(
      { event: 'polls.votes_lost', entry_ids: lost },
      'pending vote entries were trimmed from the log before they were applied',
    );
  }

  /** Every process start adds a consumer name to the group; names of processes long gone holding nothing go. */
  async #forgetGoneConsumers(): Promise<void> {
    const idleMs = Math.max(this.#config.claimIdleMs, this.#config.blockMs) * 10;
    const gone = await this.#log.forgetIdleConsumers(idleMs);
    if (gone.length > 0) this.#logger.info({ consumers: gone }, 'forgot idle vote consumers that held no entries');
  }

  async #deadLetter(entry: LogEntry): Promise<void> {
    const parsed = parseVote(entry.fields);
    const reason = typeof parsed === 'string' ? `malformed: ${parsed}` : `not applied after ${entry.deliveries} deliveries`;
    await this.#log.deadLetter(entry, reason);
    this.stats.deadLettered += 1;
    // The monitoring issue counts these lines (and the dead-letter stream) and alerts on them.
    this.#logger.error(
      {
        event: 'polls.vote_dead_lettered',
        entry_id: entry.id,
        deliveries: entry.deliveries,
        reason,
        request_id: typeof parsed === 'string' ? undefined : parsed.requestId,
      },
      'vote entry moved to the dead letters',
    );
  }

  /** Applies what parses; a malformed entry stays pending until its deliveries run out. */
  async #process(entries: LogEntry[]): Promise<void> {
    const votes: { entry: LogEntry; vote: Vote }[] = [];
    for (const entry of entries) {
      const parsed = parseVote(entry.fields);
      if (typeof parsed === 'string') {
        this.#logger.warn({ entry_id: entry.id, deliveries: entry.deliveries, problem: parsed }, 'malformed vote entry left pending');
      } else {
        votes.push({ entry, vote: parsed });
      }
    }
    if (votes.length === 0) return;
    const outcome = await this.#whileUnavailable(() =>
      this.#applyWhole(votes).catch(async (error: unknown) => {
        if (isDependencyUnavailable(error)) throw error;
        // Something in the batch fails by itself: apply one by one, so one entry cannot block the rest.
        this.#logger.warn({ err: error, entries: votes.length }, 'vote batch failed; applying its entries one by one');
        return this.#applyOneByOne(votes);
      }),
    );
    await this.#whileUnavailable(() => this.#finish(outcome.entries, outcome.result));
  }

  /**
   * Retries the batch in hand while the database (or Redis) is unreachable, so an outage
   * does not spend its entries' deliveries. When stop comes first it gives up: the entries
   * stay pending and another consumer (or this one's next start) claims them.
   */
  async #whileUnavailable<T>(step: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt += 1) {
      try {
        return await step();
      } catch (error) {
        if (!isDependencyUnavailable(error) || this.#stopping) throw error;
        this.#logger.warn({ err: error, attempt }, 'vote batch waits for its database or Redis');
        await sleep(Math.min(MAX_RETRY_MS, RETRY_MS * attempt));
      }
    }
  }

  async #applyWhole(votes: { entry: LogEntry; vote: Vote }[]) {
    const result = await this.#repo.applyVotes(votes.map((item) => item.vote));
    const unusable = new Set(result.unusable);
    const done = votes.filter((item) => !unusable.has(item.vote)).map((item) => item.entry);
    for (const vote of result.unusable) {
      this.#logger.warn(
        { vote_id: vote.voteId, poll_id: vote.pollId, request_id: vote.requestId },
        'vote names no such poll or option; left pending',
      );
    }
    return { entries: done, result };
  }

  async #applyOneByOne(votes: { entry: LogEntry; vote: Vote }[]) {
    const total: BatchOutcome = { applied: 0, rejected: 0, duplicates: 0, unusable: [], lastRequestIdByPoll: new Map() };
    const entries: LogEntry[] = [];
    for (const item of votes) {
      try {
        const single = await this.#applyWhole([item]);
        entries.push(...single.entries);
        total.applied += single.result.applied;
        total.rejected += single.result.rejected;
        total.duplicates += single.result.duplicates;
        total.unusable.push(...single.result.unusable);
        for (const [poll, requestId] of single.result.lastRequestIdByPoll) total.lastRequestIdByPoll.set(poll, requestId);
      } catch (error) {
        if (isDependencyUnavailable(error)) throw error;
        // Left pending: claimed again after the idle time, dead-lettered once its deliveries run out.
        this.#logger.warn({ err: error, vote_id: item.vote.voteId, request_id: item.vote.requestId }, 'vote not applied; left pending');
      }
    }
    return { entries, result: total };
  }

  async #finish(entries: LogEntry[], result: BatchOutcome): Promise<void> {
    await this.#log.acknowledge(entries);
    this.stats.batches += 1;
    this.stats.applied += result.applied;
    this.stats.rejected += result.rejected;
    this.stats.duplicates += result.duplicates;
    this.#logger.info(
      {
        event: 'polls.batch_applied',
        applied: result.applied,
        rejected: result.rejected,
        duplicates: result.duplicates,
        request_ids: entries.map((entry) => parseVote(entry.fields)).flatMap((vote) => (typeof vote === 'string' ? [] : [vote.requestId])),
      },
      'vote batch applied',
    );
    await this.#onApplied(result);
  }
}
