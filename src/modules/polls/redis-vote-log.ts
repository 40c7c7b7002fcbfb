// The vote log of the scale shape: a Redis Stream read by the consumer group
// `vote-processors`. Dedupe + append, acknowledge + pending count, dead-lettering and settling
// trimmed entries are each one Lua script, so atomic; a blocking read has a connection of its own.
import { createHash } from 'node:crypto';
import { type Redis, ReplyError } from 'ioredis';
import { AppError } from '../../platform/errors.ts';
import { commandMayHaveRun, waitForRedis } from '../../platform/redis.ts';
import { type AppendOutcome, type LogEntry, type NewVote, pollOf, type VoteLog } from './vote-log.ts';

export const CONSUMER_GROUP = 'vote-processors';

// KEYS: stream, the poll's set of voters, closed marker, pending counter, the per-vote key
// of older releases, entry index. ARGV: maxlen, vote, poll, user, option, request id,
// closes-at ms or ''. One set per poll, not one key per vote, so a close can drop it whole and
// a closes_at can expire it: past either, the checks above it refuse every vote, so nothing
// needs it. The entry index (entry id -> poll) outlives a trim of the entry, so SETTLE can
// still tell whose pending count a trimmed entry was in.
const APPEND = `
if redis.call('EXISTS', KEYS[3]) == 1 then return 'closed' end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
if ARGV[7] ~= '' and now >= tonumber(ARGV[7]) then return 'closed' end
if redis.call('EXISTS', KEYS[5]) == 1 then return 'already_voted' end
if redis.call('SADD', KEYS[2], ARGV[4]) == 0 then return 'already_voted' end
if ARGV[7] ~= '' then redis.call('PEXPIREAT', KEYS[2], ARGV[7]) end
local id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*', 'v', ARGV[2], 'p', ARGV[3], 'u', ARGV[4], 'o', ARGV[5], 'r', ARGV[6], 't', now)
redis.call('HSET', KEYS[6], id, ARGV[3])
redis.call('INCR', KEYS[4])
return 'accepted'`;

// KEYS: closed marker, the poll's set of voters. Marks the poll closed, drops the voters
// (the marker refuses every later vote before they are asked), and answers the instant, on
// the clock APPEND reads. The marker stays: one small key per closed poll, and it is what
// refuses a vote while an API process's cached poll row still says open.
const CLOSE = `
redis.call('SET', KEYS[1], '1')
redis.call('DEL', KEYS[2])
local t = redis.call('TIME')
return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)`;

// KEYS: stream, entry index. ARGV: group, pending-key prefix, then (id, poll or '') pairs. An
// entry leaves its poll's pending count (and the index) only when this XACK is the one that
// acknowledged it; a count that reaches 0 is deleted (read as 0). An entry trimmed away before
// it was acknowledged (polls.votes_lost) is counted down by SETTLE instead, never by both.
const ACKNOWLEDGE = `
for i = 3, #ARGV, 2 do
  if redis.call('XACK', KEYS[1], ARGV[1], ARGV[i]) == 1 then
    redis.call('HDEL', KEYS[2], ARGV[i])
    local key = ARGV[2] .. ARGV[i + 1]
    if ARGV[i + 1] ~= '' and redis.call('DECR', key) <= 0 then redis.call('DEL', key) end
  end
end
return 0`;

// KEYS: stream, dead-letter stream, entry index. ARGV: group, pending-key prefix, id, poll or '', reason, deliveries, fields as JSON.
const DEAD_LETTER = `
if redis.call('XACK', KEYS[1], ARGV[1], ARGV[3]) == 1 then
  redis.call('XADD', KEYS[2], '*', 'id', ARGV[3], 'reason', ARGV[5], 'deliveries', ARGV[6], 'fields', ARGV[7])
  redis.call('HDEL', KEYS[3], ARGV[3])
  if ARGV[4] ~= '' and redis.call('DECR', ARGV[2] .. ARGV[4]) <= 0 then redis.call('DEL', ARGV[2] .. ARGV[4]) end
end
return 0`;

// KEYS: stream, entry index. ARGV: group, pending-key prefix, HSCAN cursor or '', page size, ids.
// An entry gone from the stream that no consumer holds can never be acknowledged: MAXLEN ~
// trimmed it unread (never in the group's pending list) or read (a claim's `lost` took it off).
// Its poll's count goes down with its index field in one step: once, however many claims and
// sweeps name it. The ids given (a claim's lost), then one page of the index (the unread ones,
// which no claim reports). Entries of older releases have no field and are never counted down
// (their polls stay above 0). Answers the next cursor ('0': a pass is done) and the ids settled.
const SETTLE = `
local settled = {}
local function settle(id)
  local poll = redis.call('HGET', KEYS[2], id)
  if not poll or #redis.call('XRANGE', KEYS[1], id, id) > 0 then return end
  local held = redis.pcall('XPENDING', KEYS[1], ARGV[1], id, id, 1)
  if held.err == nil and #held > 0 then return end -- (an error: no group, so nobody holds it)
  redis.call('HDEL', KEYS[2], id)
  if redis.call('DECR', ARGV[2] .. poll) <= 0 then redis.call('DEL', ARGV[2] .. poll) end
  table.insert(settled, id)
end
for i = 5, #ARGV do settle(ARGV[i]) end
if ARGV[3] == '' then return {'0', settled} end
local page = redis.call('HSCAN', KEYS[2], ARGV[3], 'COUNT', ARGV[4])
for i = 1, #page[2], 2 do settle(page[2][i]) end
return {page[1], settled}`;

// KEYS: stream. ARGV: group, idle ms. Deletes consumers holding no entries, idle past the threshold.
const FORGET = `
local gone = {}
for _, consumer in ipairs(redis.call('XINFO', 'CONSUMERS', KEYS[1], ARGV[1])) do
  local info = {}
  for i = 1, #consumer, 2 do info[consumer[i]] = consumer[i + 1] end
  if tonumber(info['pending']) == 0 and tonumber(info['idle']) > tonumber(ARGV[2]) then
    redis.call('XGROUP', 'DELCONSUMER', KEYS[1], ARGV[1], info['name'])
    table.insert(gone, info['name'])
  end
end
return gone`;

interface Script {
  lua: string;
  sha: string;
}

const script = (lua: string): Script => ({ lua, sha: createHash('sha1').update(lua).digest('hex') });
const SCRIPTS = {
  append: script(APPEND),
  close: script(CLOSE),
  acknowledge: script(ACKNOWLEDGE),
  deadLetter: script(DEAD_LETTER),
  settle: script(SETTLE),
  forget: script(FORGET),
};

/** Runs a script by its hash, loading it on Redis's first "NOSCRIPT" (after a restart or flush). */
async function run(redis: Redis, { lua, sha }: Script, keys: string[], args: (string | number)[]): Promise<unknown> {
  try {
    return await redis.evalsha(sha, keys.length, ...keys, ...args);
  } catch (error) {
    if (error instanceof ReplyError && String((error as Error).message).startsWith('NOSCRIPT')) {
      return redis.eval(lua, keys.length, ...keys, ...args);
    }
    throw error;
  }
}

/** A Redis failure on the vote path is a 503, never a 202: the vote was not (knowingly) appended. */
function unavailable(error: unknown): never {
  // Redis answered: a bug of ours, not an outage; except a full Redis refusing writes
  // (noeviction's "OOM command not allowed"), which is one.
  if (error instanceof ReplyError && !String((error as Error).message).startsWith('OOM')) throw error;
  throw new AppError('UNAVAILABLE', 'Votes cannot be accepted right now; try again shortly', {
    headers: { 'retry-after': '5' },
    cause: error,
  });
}

function toFields(flat: unknown): Record<string, unknown> {
  const fields: Record<string, unknown> = {};
  if (!Array.isArray(flat)) return fields;
  for (let i = 0; i + 1 < flat.length; i += 2) fields[String(flat[i])] = flat[i + 1];
  return fields;
}

function toEntries(raw: unknown): { id: string; fields: Record<string, unknown> }[] {
  if (!Array.isArray(raw)) return [];
  return raw.filter((item): item is [string, unknown] => Array.isArray(item)).map(([id, flat]) => ({ id, fields: toFields(flat) }));
}

export class RedisVoteLog implements VoteLog {
  readonly kind = 'redis-stream' as const;
  readonly #redis: Redis;
  /** Where votes are appended: the vote path's auto-pipelined connection when there is one. */
  readonly #appender: Redis;
  readonly #stream: string;
  readonly #deadStream: string;
  /** Entry id -> poll of every entry appended and not yet acknowledged (APPEND's comment). */
  readonly #entryIndex: string;
  readonly #prefix: string;
  readonly #maxLength: number;
  readonly #blockMs: number;
  #reader: Redis | undefined;
  #sweepCursor = '0';

  constructor(redis: Redis, keyPrefix: string, maxLength: number, blockMs: number, appender: Redis = redis) {
    this.#redis = redis;
    this.#appender = appender;
    this.#prefix = `${keyPrefix}polls:`;
    this.#stream = `${this.#prefix}votes`;
    this.#deadStream = `${this.#prefix}votes:dead`;
    this.#entryIndex = `${this.#prefix}votes:entry-polls`;
    this.#maxLength = maxLength;
    this.#blockMs = blockMs;
  }

  get streamKey(): string {
    return this.#stream;
  }

  get deadLetterKey(): string {
    return this.#deadStream;
  }

  async prepare(): Promise<void> {
    try {
      await this.#redis.xgroup('CREATE', this.#stream, CONSUMER_GROUP, '0', 'MKSTREAM');
    } catch (error) {
      if (error instanceof ReplyError && String((error as Error).message).startsWith('BUSYGROUP')) return;
      throw error;
    }
  }

  async append(vote: NewVote, closesAt: number | null): Promise<AppendOutcome> {
    const keys = [
      this.#stream,
      this.#votersKey(vote.pollId),
      this.#closedKey(vote.pollId),
      this.#pendingKey(vote.pollId),
      // Written by releases before the voters set, one per vote and never expiring; still
      // honoured so an account that voted then cannot vote again in a poll open across the
      // upgrade (once no process of the old release serves votes: README "Polls").
      `${this.#prefix}voted:${vote.pollId}:${vote.userId}`,
      this.#entryIndex,
    ];
    const args = [this.#maxLength, vote.voteId, vote.pollId, vote.userId, vote.option, vote.requestId, closesAt ?? ''];
    const outcome = await run(this.#appender, SCRIPTS.append, keys, args).catch((error: unknown) =>
      commandMayHaveRun(error) ? 'unknown' : unavailable(error),
    );
    return outcome as AppendOutcome;
  }

  async closePoll(pollId: string): Promise<number> {
    const at = await run(this.#redis, SCRIPTS.close, [this.#closedKey(pollId), this.#votersKey(pollId)], []).catch(unavailable);
    return Number(at);
  }

  /** A blocked XREADGROUP returns within blockMs; what it returns after a stop is the batch in hand. */
  async read(consumer: string, count: number, blockMs: number, _stopping: AbortSignal): Promise<LogEntry[]> {
    const reader = this.#readerConnection();
    // A new (or reconnecting) connection refuses commands until ready: no offline queue.
    if (reader.status !== 'ready') await waitForRedis(reader, this.#blockMs + 2_000);
    const reply = await reader.call(
      'XREADGROUP',
      'GROUP',
      CONSUMER_GROUP,
      consumer,
      'COUNT',
      count,
      'BLOCK',
      blockMs,
      'STREAMS',
      this.#stream,
      '>',
    );
    if (!Array.isArray(reply) || reply.length === 0) return [];
    const [, entries] = reply[0] as [string, unknown];
    // A new entry's first delivery is this one.
    return toEntries(entries).map((entry) => ({ ...entry, deliveries: 1 }));
  }

  async claimStale(consumer: string, idleMs: number, count: number): Promise<{ entries: LogEntry[]; lost: string[] }> {
    const reply = (await this.#redis.call(
      'XAUTOCLAIM',
      this.#stream,
      CONSUMER_GROUP,
      consumer,
      idleMs,
      '0-0',
      'COUNT',
      count,
    )) as unknown[];
    const claimed = toEntries(reply[1]);
    // Redis 7 lists pending ids whose entries were trimmed away, and drops them from the group.
    const lost = Array.isArray(reply[2]) ? reply[2].map(String) : [];
    // Their poll ids went with them; the entry index still has them. Not atomic with the claim:
    // if this process dies in between, the sweep finds them (nobody holds them any more).
    if (lost.length > 0) await this.#settle('', 0, lost);
    if (claimed.length === 0) return { entries: [], lost };
    // XAUTOCLAIM does not say how often an entry was delivered; XPENDING on this consumer does.
    const ids = claimed.map((entry) => entry.id).sort(compareIds);
    const pending = (await this.#redis.call(
      'XPENDING',
      this.#stream,
      CONSUMER_GROUP,
      ids[0] as string,
      ids.at(-1) as string,
      // Its own entries left pending (malformed ones) may share the range: room for them too.
      claimed.length + 10_000,
      consumer,
    )) as [string, string, number, number][];
    const deliveries = new Map(pending.map(([id, , , times]) => [id, Number(times)]));
    return { entries: claimed.map((entry) => ({ ...entry, deliveries: deliveries.get(entry.id) ?? 1 })), lost };
  }

  /** One page of the entry index, resuming where the last call stopped; `more` until a pass is complete. */
  async sweepTrimmed(count: number): Promise<{ lost: string[]; more: boolean }> {
    const { next, settled } = await this.#settle(this.#sweepCursor, count, []);
    this.#sweepCursor = next;
    return { lost: settled, more: next !== '0' };
  }

  async #settle(cursor: string, count: number, ids: string[]): Promise<{ next: string; settled: string[] }> {
    const args = [CONSUMER_GROUP, this.#pendingKey(''), cursor, count, ...ids];
    const [next, settled] = (await run(this.#redis, SCRIPTS.settle, [this.#stream, this.#entryIndex], args)) as [string, string[]];
    return { next: String(next), settled: settled.map(String) };
  }

  /** Forgets consumers that hold nothing and have been idle past `idleMs` (processes long gone). */
  async forgetIdleConsumers(idleMs: number): Promise<string[]> {
    // One script: DELCONSUMER drops a consumer's pending entries too, so nothing may read between the check and it.
    const gone = await run(this.#redis, SCRIPTS.forget, [this.#stream], [CONSUMER_GROUP, idleMs]);
    return Array.isArray(gone) ? gone.map(String) : [];
  }

  async acknowledge(entries: LogEntry[]): Promise<void> {
    if (entries.length === 0) return;
    const args: string[] = [CONSUMER_GROUP, this.#pendingKey('')];
    for (const entry of entries) args.push(entry.id, pollOf(entry.fields) ?? '');
    await run(this.#redis, SCRIPTS.acknowledge, [this.#stream, this.#entryIndex], args);
  }

  async deadLetter(entry: LogEntry, reason: string): Promise<void> {
    const args = [
      CONSUMER_GROUP,
      this.#pendingKey(''),
      entry.id,
      pollOf(entry.fields) ?? '',
      reason,
      entry.deliveries,
      JSON.stringify(entry.fields),
    ];
    await run(this.#redis, SCRIPTS.deadLetter, [this.#stream, this.#deadStream, this.#entryIndex], args);
  }

  async pending(pollId: string): Promise<number> {
    return Math.max(0, Number((await this.#redis.get(this.#pendingKey(pollId))) ?? 0));
  }

  async pendingByConsumer(): Promise<Record<string, number>> {
    const summary = (await this.#redis.call('XPENDING', this.#stream, CONSUMER_GROUP)) as [
      number,
      string,
      string,
      [string, string][] | null,
    ];
    return Object.fromEntries((summary[3] ?? []).map(([consumer, count]) => [consumer, Number(count)]));
  }

  async deadLetterCount(): Promise<number> {
    return this.#redis.xlen(this.#deadStream);
  }

  /** Entries in the stream the group has not read yet (XINFO GROUPS' lag). */
  async lag(): Promise<number> {
    return (await this.#groupInfo()).lag;
  }

  /** Not read yet, plus read and not acknowledged (XINFO GROUPS' lag and pending). */
  async backlog(): Promise<number> {
    const { lag, pending } = await this.#groupInfo();
    return lag + pending;
  }

  async #groupInfo(): Promise<{ lag: number; pending: number }> {
    let groups: unknown[][];
    try {
      groups = (await this.#redis.call('XINFO', 'GROUPS', this.#stream)) as unknown[][];
    } catch (error) {
      // No vote yet and no consumer started: the stream does not exist, and nothing waits.
      if (error instanceof ReplyError && /no such key/i.test((error as Error).message)) return { lag: 0, pending: 0 };
      throw error;
    }
    for (const group of groups) {
      const info = toFields(group);
      if (info.name === CONSUMER_GROUP) return { lag: Number(info.lag ?? 0), pending: Number(info.pending ?? 0) };
    }
    return { lag: 0, pending: 0 };
  }

  wake(): void {
    // A blocked XREADGROUP returns within blockMs by itself; nothing is lost by letting it.
  }

  async release(): Promise<void> {
    const reader = this.#reader;
    this.#reader = undefined;
    reader?.disconnect();
  }

  #readerConnection(): Redis {
    // Its own connection: a blocked read would hold up every other command on a shared one,
    // and it may wait longer than the shared client's command timeout. A read cut off by a
    // dropped connection is sent again on the reconnect rather than waiting out that timeout:
    // its caller is still waiting, and entries a lost answer delivered are claimed either way.
    this.#reader ??= this.#redis.duplicate({ commandTimeout: this.#blockMs + 5_000, autoResendUnfulfilledCommands: true });
    return this.#reader;
  }

  #votersKey(pollId: string): string {
    return `${this.#prefix}voters:${pollId}`;
  }

  #closedKey(pollId: string): string {
    return `${this.#prefix}closed:${pollId}`;
  }

  #pendingKey(pollId: string): string {
    return `${this.#prefix}pending:${pollId}`;
  }
}

function compareIds(a: string, b: string): number {
  const [aMs, aSeq] = a.split('-').map(Number) as [number, number];
  const [bMs, bSeq] = b.split('-').map(Number) as [number, number];
  return aMs - bMs || aSeq - bSeq;
}
