// The vote log of the embedded shape: a table the same consumer drains. One process owns
// the database (the DATA_DIR lock), so each statement here is atomic by itself; an append
// wakes a waiting read at once instead of leaving it to poll.
import type { Database } from '../../platform/db/database.ts';
import { type AppendOutcome, FIELD, type LogEntry, type NewVote, type VoteLog } from './vote-log.ts';

interface LogRow {
  id: number;
  entry: Record<string, unknown>;
  deliveries: number;
}

const toEntry = (row: LogRow): LogEntry => ({ id: String(row.id), fields: row.entry, deliveries: row.deliveries });

export class TableVoteLog implements VoteLog {
  readonly kind = 'table' as const;
  readonly #db: Database;
  readonly #idleWaitMs: number;
  #waiters: (() => void)[] = [];
  /** Counts wakes, so a read can tell an append that landed while its own take ran. */
  #wakes = 0;

  /**
   * Only this process appends (the DATA_DIR lock) and every append wakes the read, so an idle
   * read waits `idleWaitMs` (the consumer's claim interval: it claims between reads), not the
   * Redis read's short block; polling the table twice a second was most of an idle `serve`'s
   * CPU after the job polls (README, "Jobs").
   */
  constructor(db: Database, idleWaitMs: number) {
    this.#db = db;
    this.#idleWaitMs = idleWaitMs;
  }

  async prepare(): Promise<void> {}

  async append(vote: NewVote, _closesAt: number | null): Promise<AppendOutcome> {
    // One statement: the poll is open (closes_at passed or closed_at set refuses it), the account
    // has not voted (applied, or waiting in the log: the unique index), then the entry goes in.
    const rows = await this.#db.query<{ id: number }>(
      `insert into poll_vote_log (poll_id, user_id, entry)
       select p.id, $3::uuid, jsonb_build_object($4::text, $1::text, $5::text, $2::text, $6::text, $3::text,
              $7::text, $8::int, $9::text, $10::text, $11::text, floor(extract(epoch from now()) * 1000)::bigint)
         from polls p
        where p.id = $2::uuid and p.closed_at is null and (p.closes_at is null or p.closes_at > now())
          and not exists (select 1 from poll_votes v where v.poll_id = $2::uuid and v.user_id = $3::uuid)
       on conflict (poll_id, user_id) do nothing
       returning id`,
      [
        vote.voteId,
        vote.pollId,
        vote.userId,
        FIELD.voteId,
        FIELD.pollId,
        FIELD.userId,
        FIELD.option,
        vote.option,
        FIELD.requestId,
        vote.requestId,
        FIELD.acceptedAt,
      ],
    );
    if (rows.length > 0) {
      this.wake();
      return 'accepted';
    }
    const [poll] = await this.#db.query<{ open: boolean }>(
      'select closed_at is null and (closes_at is null or closes_at > now()) as open from polls where id = $1',
      [vote.pollId],
    );
    return poll?.open ? 'already_voted' : 'closed';
  }

  async closePoll(pollId: string): Promise<number> {
    // The close is the polls row's closed_at, which append reads in its one statement: no vote
    // can land between the close's instant and its record.
    const [row] = await this.#db.query<{ at: number }>(
      'update polls set closed_at = coalesce(closed_at, now()) where id = $1 returning round(extract(epoch from closed_at) * 1000)::bigint as at',
      [pollId],
    );
    return Number(row?.at ?? Date.now());
  }

  async read(consumer: string, count: number, blockMs: number, stopping: AbortSignal): Promise<LogEntry[]> {
    const take = () =>
      this.#db.query<LogRow>(
        `update poll_vote_log set consumer = $1, delivered_at = now(), deliveries = deliveries + 1
          where id in (select id from poll_vote_log where consumer is null order by id limit $2 for update skip locked)
          returning id, entry, deliveries`,
        [consumer, count],
      );
    const wakesBefore = this.#wakes;
    let rows = await take();
    if (rows.length === 0 && this.#wakes !== wakesBefore) rows = await take();
    if (rows.length === 0) {
      const woken = await new Promise<boolean>((resolve) => {
        const done = (byWake: boolean) => {
          clearTimeout(timer);
          this.#waiters = this.#waiters.filter((waiter) => waiter !== wake);
          resolve(byWake);
        };
        const wake = () => done(true);
        const timer = setTimeout(() => done(false), Math.max(blockMs, this.#idleWaitMs));
        this.#waiters.push(wake);
      });
      // Woken by the stop: read nothing more. Timed out: nothing was appended (the next read
      // takes anything written to the table by other means first).
      if (!woken || stopping.aborted) return [];
      rows = await take();
    }
    return rows.sort((a, b) => a.id - b.id).map(toEntry);
  }

  async claimStale(consumer: string, idleMs: number, count: number): Promise<{ entries: LogEntry[]; lost: string[] }> {
    const rows = await this.#db.query<LogRow>(
      `update poll_vote_log set consumer = $1, delivered_at = now(), deliveries = deliveries + 1
        where id in (select id from poll_vote_log
                      where consumer is not null and delivered_at < now() - make_interval(secs => $2::float8 / 1000)
                      order by id limit $3 for update skip locked)
        returning id, entry, deliveries`,
      [consumer, idleMs, count],
    );
    return { entries: rows.sort((a, b) => a.id - b.id).map(toEntry), lost: [] };
  }

  async sweepTrimmed(_count: number): Promise<{ lost: string[]; more: boolean }> {
    return { lost: [], more: false }; // nothing trims the table: a row leaves only when acknowledged or dead-lettered
  }

  async forgetIdleConsumers(_idleMs: number): Promise<string[]> {
    return []; // a row names its consumer only while it holds the row
  }

  async acknowledge(entries: LogEntry[]): Promise<void> {
    if (entries.length === 0) return;
    await this.#db.query('delete from poll_vote_log where id = any($1::bigint[])', [entries.map((entry) => entry.id)]);
  }

  async deadLetter(entry: LogEntry, reason: string): Promise<void> {
    await this.#db.transaction(async (tx) => {
      const moved = await tx.query('delete from poll_vote_log where id = $1 returning id', [entry.id]);
      if (moved.length === 0) return; // someone acknowledged it meanwhile
      await tx.query('insert into poll_vote_dead_letters (log_id, entry, reason, deliveries) values ($1, $2::jsonb, $3, $4)', [
        entry.id,
        JSON.stringify(entry.fields),
        reason,
        entry.deliveries,
      ]);
    });
  }

  async pending(pollId: string): Promise<number> {
    const [row] = await this.#db.query<{ n: number }>('select count(*) as n from poll_vote_log where poll_id = $1', [pollId]);
    return Number(row?.n ?? 0);
  }

  async backlog(): Promise<number> {
    const [row] = await this.#db.query<{ n: number }>('select count(*) as n from poll_vote_log');
    return Number(row?.n ?? 0);
  }

  async pendingByConsumer(): Promise<Record<string, number>> {
    const rows = await this.#db.query<{ consumer: string; n: number }>(
      'select consumer, count(*) as n from poll_vote_log where consumer is not null group by consumer',
    );
    return Object.fromEntries(rows.map((row) => [row.consumer, Number(row.n)]));
  }

  async deadLetterCount(): Promise<number> {
    const [row] = await this.#db.query<{ n: number }>('select count(*) as n from poll_vote_dead_letters');
    return Number(row?.n ?? 0);
  }

  wake(): void {
    this.#wakes += 1;
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const waiter of waiters) waiter();
  }

  async release(): Promise<void> {
    this.wake();
  }
}
