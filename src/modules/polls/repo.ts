// Database access of the polls module: polls, their counts, and applying a batch of votes
// in one statement (insert once per account, count only what was inserted).
import type { Database } from '../../platform/db/database.ts';
import type { Vote } from './vote-log.ts';

export interface PollRow {
  id: string;
  ownerId: string;
  question: string;
  options: string[];
  closesAt: Date | null;
  closedAt: Date | null;
  rejectedVotes: number;
  createdAt: Date;
}

export interface PollCounts {
  poll: PollRow;
  /** Votes per option, in option order. */
  counts: number[];
  /** The database's clock when these were read. */
  asOf: Date;
}

/** What one applied batch did, per poll: the last request id of a vote applied there. */
export interface BatchOutcome {
  applied: number;
  rejected: number;
  /** Redeliveries of votes already in the database: inserted nothing, counted nothing. */
  duplicates: number;
  /** Entries naming a poll that does not exist or an option it does not have: left for the dead letters. */
  unusable: Vote[];
  lastRequestIdByPoll: Map<string, string>;
}

const POLL_COLUMNS = `id, owner_id as "ownerId", question, options, closes_at as "closesAt", closed_at as "closedAt",
  rejected_votes as "rejectedVotes", created_at as "createdAt"`;

export class PollsRepo {
  readonly #db: Database;

  constructor(db: Database) {
    this.#db = db;
  }

  insertPoll(ownerId: string, question: string, options: string[], closesAt: Date | null): Promise<PollRow> {
    return this.#db.transaction(async (tx) => {
      const [poll] = await tx.query<PollRow>(
        `insert into polls (owner_id, question, options, closes_at) values ($1, $2, $3::jsonb, $4) returning ${POLL_COLUMNS}`,
        [ownerId, question, JSON.stringify(options), closesAt],
      );
      if (!poll) throw new Error('insert into polls returned no row');
      await tx.query('insert into poll_option_counts (poll_id, option) select $1, generate_series(0, $2::int - 1)', [
        poll.id,
        options.length,
      ]);
      return poll;
    });
  }

  async findPoll(id: string): Promise<PollRow | undefined> {
    const [poll] = await this.#db.query<PollRow>(`select ${POLL_COLUMNS} from polls where id = $1`, [id]);
    return poll;
  }

  /** The owner's polls, newest first; `after` is the (created_at text, id) of the last row seen. */
  listForOwner(ownerId: string, limit: number, after?: [string, string]): Promise<(PollRow & { position: string })[]> {
    return this.#db.query(
      `select ${POLL_COLUMNS}, created_at::text as position from polls
        where owner_id = $1 and ($2::timestamptz is null or (created_at, id) < ($2::timestamptz, $3::uuid))
        order by created_at desc, id desc limit $4`,
      [ownerId, after?.[0] ?? null, after?.[1] ?? null, limit],
    );
  }

  /** Sets closed_at once (a second close keeps the first instant). */
  async closePoll(id: string, closedAtMs: number): Promise<PollRow | undefined> {
    const [poll] = await this.#db.query<PollRow>(
      `update polls set closed_at = coalesce(closed_at, to_timestamp($2::float8 / 1000)) where id = $1 returning ${POLL_COLUMNS}`,
      [id, closedAtMs],
    );
    return poll;
  }

  async counts(pollId: string): Promise<PollCounts | undefined> {
    const rows = await this.#db.query<PollRow & { option: number | null; votes: number | null; asOf: Date }>(
      `select ${POLL_COLUMNS}, c.option, c.votes, now() as "asOf"
         from polls p left join poll_option_counts c on c.poll_id = p.id where p.id = $1 order by c.option`,
      [pollId],
    );
    const first = rows[0];
    if (!first) return undefined;
    const { option: _option, votes: _votes, asOf, ...poll } = first;
    const counts = poll.options.map(() => 0);
    for (const row of rows) if (row.option !== null && row.option < counts.length) counts[row.option] = Number(row.votes ?? 0);
    return { poll, counts, asOf };
  }

  /**
   * Applies a batch of votes in one statement (atomic by itself: no transaction round
   * trips; the polls bench measured each statement's round trip as most of the consumer's
   * CPU). A vote the poll's close (or closes_at) came before, on the log's clock, is kept
   * as rejected and counted apart; every other is applied. Inserts are ON CONFLICT DO
   * NOTHING on (poll, user), and only inserted rows reach the counts, so a redelivered vote
   * changes nothing. A vote naming no poll, or an option the poll lacks, is unusable.
   */
  async applyVotes(votes: Vote[]): Promise<BatchOutcome> {
    const outcome: BatchOutcome = { applied: 0, rejected: 0, duplicates: 0, unusable: [], lastRequestIdByPoll: new Map() };
    if (votes.length === 0) return outcome;
    // Counts go in (poll, option) order (the sorted input drives the join), so two consumers
    // do not deadlock on them; one Postgres still detected would fail the batch, which is
    // then applied entry by entry (consumer.ts).
    const rows = await this.#db.query<{ kind: 'usable' | 'inserted'; voteId: string; status: string }>(
      `with batch as (
         select * from unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::int[], $5::text[], $6::float8[]) as x(v, p, u, o, r, t)
       ), usable as (
         select b.v, b.p, b.u, b.o, b.r, b.t,
                case when (pl.closed_at is not null and b.t > round(extract(epoch from pl.closed_at) * 1000))
                       or (pl.closes_at is not null and b.t >= round(extract(epoch from pl.closes_at) * 1000))
                     then 'rejected' else 'applied' end as s
           from batch b join polls pl on pl.id = b.p and b.o < jsonb_array_length(pl.options)
       ), inserted as (
         insert into poll_votes (vote_id, poll_id, user_id, option, status, request_id, accepted_at)
         select v, p, u, o, s, r, to_timestamp(t / 1000) from usable
         on conflict do nothing
         returning vote_id, poll_id, option, status
       ), counted as (
         update poll_option_counts c set votes = c.votes + n.n
           from (select poll_id, option, count(*)::int as n from inserted where status = 'applied'
                  group by poll_id, option order by poll_id, option) n
          where c.poll_id = n.poll_id and c.option = n.option
       ), rejected as (
         update polls p set rejected_votes = p.rejected_votes + n.n
           from (select poll_id, count(*)::int as n from inserted where status = 'rejected' group by poll_id order by poll_id) n
          where p.id = n.poll_id
       )
       select 'inserted' as kind, vote_id as "voteId", status from inserted
       union all
       select 'usable', v, s from usable`,
      [
        votes.map((vote) => vote.voteId),
        votes.map((vote) => vote.pollId),
        votes.map((vote) => vote.userId),
        votes.map((vote) => vote.option),
        votes.map((vote) => vote.requestId),
        votes.map((vote) => vote.acceptedAt),
      ],
    );
    const usable = new Set<string>();
    const inserted = new Set<string>();
    for (const row of rows) {
      if (row.kind === 'usable') {
        usable.add(row.voteId);
        continue;
      }
      inserted.add(row.voteId);
      if (row.status === 'rejected') outcome.rejected += 1;
      else outcome.applied += 1;
    }
    // In log order: the realtime update carries the request id of the poll's latest vote applied.
    for (const vote of votes) if (inserted.has(vote.voteId)) outcome.lastRequestIdByPoll.set(vote.pollId, vote.requestId);
    outcome.unusable = votes.filter((vote) => !usable.has(vote.voteId));
    outcome.duplicates = votes.length - outcome.unusable.length - inserted.size;
    return outcome;
  }
}
