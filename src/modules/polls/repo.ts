// Database access of the polls module: polls, their counts, and applying a batch of votes
// in the consumer's transaction (insert once per account, count only what was inserted).
import type { Database, Transaction } from '../../platform/db/database.ts';
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
   * Applies votes in the caller's transaction. A vote the poll's close (or closes_at) came
   * before, on the log's clock, is kept as rejected and counted apart; every other is
   * applied. Inserts are ON CONFLICT DO NOTHING on (poll, user), and only inserted rows
   * reach the counts, so a redelivered vote changes nothing.
   */
  async applyVotes(tx: Transaction, votes: Vote[]): Promise<BatchOutcome> {
    const outcome: BatchOutcome = { applied: 0, rejected: 0, duplicates: 0, unusable: [], lastRequestIdByPoll: new Map() };
    if (votes.length === 0) return outcome;
    const pollIds = [...new Set(votes.map((vote) => vote.pollId))];
    const polls = await tx.query<{ id: string; options: number; closedAt: number | null; closesAt: number | null }>(
      `select id, jsonb_array_length(options) as options,
              round(extract(epoch from closed_at) * 1000)::bigint as "closedAt", round(extract(epoch from closes_at) * 1000)::bigint as "closesAt"
         from polls where id = any($1::uuid[])`,
      [pollIds],
    );
    const pollById = new Map(polls.map((poll) => [poll.id, poll]));
    const usable: (Vote & { status: 'applied' | 'rejected' })[] = [];
    for (const vote of votes) {
      const poll = pollById.get(vote.pollId);
      if (!poll || vote.option >= poll.options) {
        outcome.unusable.push(vote);
        continue;
      }
      const late =
        (poll.closedAt !== null && vote.acceptedAt > Number(poll.closedAt)) ||
        (poll.closesAt !== null && vote.acceptedAt >= Number(poll.closesAt));
      usable.push({ ...vote, status: late ? 'rejected' : 'applied' });
    }
    if (usable.length === 0) return outcome;
    const inserted = await tx.query<{ pollId: string; option: number; status: string; requestId: string }>(
      `insert into poll_votes (vote_id, poll_id, user_id, option, status, request_id, accepted_at)
       select v, p, u, o, s, r, to_timestamp(t / 1000)
         from unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::int[], $5::text[], $6::text[], $7::float8[]) as x(v, p, u, o, s, r, t)
       on conflict do nothing
       returning poll_id as "pollId", option, status, request_id as "requestId"`,
      [
        usable.map((vote) => vote.voteId),
        usable.map((vote) => vote.pollId),
        usable.map((vote) => vote.userId),
        usable.map((vote) => vote.option),
        usable.map((vote) => vote.status),
        usable.map((vote) => vote.requestId),
        usable.map((vote) => vote.acceptedAt),
      ],
    );
    outcome.duplicates = usable.length - inserted.length;
    const added = new Map<string, number>();
    const rejectedByPoll = new Map<string, number>();
    for (const row of inserted) {
      outcome.lastRequestIdByPoll.set(row.pollId, row.requestId);
      if (row.status === 'rejected') {
        outcome.rejected += 1;
        rejectedByPoll.set(row.pollId, (rejectedByPoll.get(row.pollId) ?? 0) + 1);
        continue;
      }
      outcome.applied += 1;
      const key = `${row.pollId}/${row.option}`;
      added.set(key, (added.get(key) ?? 0) + 1);
    }
    // One order for every transaction, so two consumers updating the same rows cannot deadlock.
    const increments = [...added.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    if (increments.length > 0) {
      await tx.query(
        `update poll_option_counts c set votes = c.votes + x.n
           from unnest($1::uuid[], $2::int[], $3::int[]) as x(p, o, n) where c.poll_id = x.p and c.option = x.o`,
        [increments.map(([key]) => key.split('/')[0]), increments.map(([key]) => Number(key.split('/')[1])), increments.map(([, n]) => n)],
      );
    }
    const rejections = [...rejectedByPoll.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    if (rejections.length > 0) {
      await tx.query(
        'update polls p set rejected_votes = p.rejected_votes + x.n from unnest($1::uuid[], $2::int[]) as x(id, n) where p.id = x.id',
        [rejections.map(([id]) => id), rejections.map(([, n]) => n)],
      );
    }
    return outcome;
  }
}
