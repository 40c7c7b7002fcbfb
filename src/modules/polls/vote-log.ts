// The vote log's one interface (a Redis Stream in the scale shape, a table in the embedded
// shape), the shape of a vote in it, and the check that turns a raw entry back into a vote.

/** A vote as the API appended it: what the consumer applies. */
export interface Vote {
  voteId: string;
  pollId: string;
  userId: string;
  option: number;
  requestId: string;
  /** When the log accepted it, in ms on the log's own clock (Redis TIME, or the database's). */
  acceptedAt: number;
}

export type NewVote = Omit<Vote, 'acceptedAt'>;

/** One entry read from the log: its raw fields, which may not be a vote at all (poison). */
export interface LogEntry {
  id: string;
  fields: Record<string, unknown>;
  /** How many times the log has handed it out, this time included. */
  deliveries: number;
}

/**
 * `unknown`: the append was sent and its answer lost (the log timed out or its connection
 * dropped), so the vote may or may not be in the log; nothing on this side can tell.
 */
export type AppendOutcome = 'accepted' | 'already_voted' | 'closed' | 'unknown';

export interface VoteLog {
  readonly kind: 'redis-stream' | 'table';
  /** Prepares the log for reading (creates the consumer group). Idempotent. */
  prepare(): Promise<void>;
  /** Dedupe and append in one atomic step; refuses a closed poll (closesAt in ms, log clock). Throws UNAVAILABLE when the vote surely did not reach the log. */
  append(vote: NewVote, closesAt: number | null): Promise<AppendOutcome>;
  /** Refuses every later append to the poll; the result is the close instant on the log's clock (ms). */
  closePoll(pollId: string): Promise<number>;
  /**
   * Up to `count` entries nobody has read yet, handed to `consumer`; waits up to blockMs for
   * one. Once `stopping` aborts, a read still waiting takes nothing more.
   */
  read(consumer: string, count: number, blockMs: number, stopping: AbortSignal): Promise<LogEntry[]>;
  /**
   * Entries handed out at least idleMs ago and not acknowledged, now handed to `consumer`;
   * `lost` names pending entries the log no longer holds (trimmed past its cap before anyone
   * acknowledged them), which only an operator can account for. They have left their polls'
   * pending counts.
   */
  claimStale(consumer: string, idleMs: number, count: number): Promise<{ entries: LogEntry[]; lost: string[] }>;
  /**
   * The entries a claim never reports lost, since nobody had read them: trimmed past the cap
   * unread. Looks at about `count` accepted entries per call, resuming where the last stopped
   * (`more` until it has looked at all); `lost` have left their polls' pending counts.
   */
  sweepTrimmed(count: number): Promise<{ lost: string[]; more: boolean }>;
  /** Forgets consumers (process names) that hold nothing and were idle past idleMs; the names forgotten. */
  forgetIdleConsumers(idleMs: number): Promise<string[]>;
  /** Done with these entries (after commit): they leave the log and their polls' pending counts. */
  acknowledge(entries: LogEntry[]): Promise<void>;
  /** Moves an entry to the dead letters and acknowledges it. */
  deadLetter(entry: LogEntry, reason: string): Promise<void>;
  /** Accepted votes of the poll not yet applied (or rejected). */
  pending(pollId: string): Promise<number>;
  /** Accepted votes not yet acknowledged: unread, or in a consumer's hands (the backlog metric). */
  backlog(): Promise<number>;
  /** Entries handed out and not acknowledged, per consumer (operators, tests). */
  pendingByConsumer(): Promise<Record<string, number>>;
  /** How many entries the dead letters hold. */
  deadLetterCount(): Promise<number>;
  /** Wakes a read waiting for entries (an append, or a consumer stopping). */
  wake(): void;
  /** Releases what the log opened for reading. */
  release(): Promise<void>;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const MAX_OPTIONS = 20;

/** The wire names of a vote's fields in the log (short: they are repeated in every entry). */
export const FIELD = { voteId: 'v', pollId: 'p', userId: 'u', option: 'o', requestId: 'r', acceptedAt: 't' } as const;

/** The vote in an entry, or the reason it is not one (a poison entry). */
export function parseVote(fields: Record<string, unknown>): Vote | string {
  const text = (name: string) => {
    const value = fields[name];
    return typeof value === 'string' ? value : typeof value === 'number' ? String(value) : undefined;
  };
  const voteId = text(FIELD.voteId);
  const pollId = text(FIELD.pollId);
  const userId = text(FIELD.userId);
  const requestId = text(FIELD.requestId);
  const option = Number(text(FIELD.option));
  const acceptedAt = Number(text(FIELD.acceptedAt));
  if (!voteId || !UUID.test(voteId)) return 'vote id missing or not a uuid';
  if (!pollId || !UUID.test(pollId)) return 'poll id missing or not a uuid';
  if (!userId || !UUID.test(userId)) return 'user id missing or not a uuid';
  if (!Number.isInteger(option) || option < 0 || option >= MAX_OPTIONS) return 'option missing or out of range';
  if (requestId === undefined || requestId.length > 256) return 'request id missing or too long';
  if (!Number.isSafeInteger(acceptedAt) || acceptedAt <= 0) return 'accepted time missing or invalid';
  return { voteId, pollId, userId, option, requestId, acceptedAt };
}

/** The poll an entry names, if it names one validly (for its pending count). */
export function pollOf(fields: Record<string, unknown>): string | undefined {
  const value = fields[FIELD.pollId];
  return typeof value === 'string' && UUID.test(value) ? value : undefined;
}
