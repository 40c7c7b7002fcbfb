// Coalesced realtime count updates: each applied batch marks its polls changed; a poll's
// new counts go out on `polls:<id>` at once, then at most once per interval while votes keep
// arriving, carrying the request id of the last vote applied.
import type { Logger } from 'pino';
import type { RealtimeHub } from '../../platform/realtime/hub.ts';

export const RESULTS_EVENT = 'poll.results';

interface PollState {
  requestId: string;
  dirty: boolean;
  timer: NodeJS.Timeout | undefined;
}

export class ResultsPublisher {
  readonly #hub: RealtimeHub;
  readonly #load: (pollId: string) => Promise<unknown>;
  readonly #intervalMs: number;
  readonly #logger: Logger;
  readonly #polls = new Map<string, PollState>();
  readonly #inFlight = new Set<Promise<void>>();

  /** `load` reads a poll's current results, fresh from the database, as the wire shows them. */
  constructor(hub: RealtimeHub, load: (pollId: string) => Promise<unknown>, intervalMs: number, logger: Logger) {
    this.#hub = hub;
    this.#load = load;
    this.#intervalMs = intervalMs;
    this.#logger = logger;
  }

  /** Votes were applied to the poll; `requestId` is the last one's. */
  changed(pollId: string, requestId: string): void {
    const state = this.#polls.get(pollId);
    if (state) {
      state.requestId = requestId;
      state.dirty = true;
      return;
    }
    const fresh: PollState = { requestId, dirty: true, timer: undefined };
    this.#polls.set(pollId, fresh);
    this.#flush(pollId, fresh);
  }

  /** Sends what is still unsent and stops the timers. */
  async stop(): Promise<void> {
    for (const [pollId, state] of this.#polls) {
      clearTimeout(state.timer);
      if (state.dirty) this.#flush(pollId, state);
    }
    this.#polls.clear();
    await Promise.all(this.#inFlight);
  }

  #flush(pollId: string, state: PollState): void {
    state.dirty = false;
    const requestId = state.requestId;
    const sent = this.#load(pollId)
      .then((data) => this.#hub.publish(`polls:${pollId}`, RESULTS_EVENT, data, requestId))
      .catch((error: unknown) => {
        // The next batch publishes again; a missed update costs freshness, not correctness.
        this.#logger.warn({ err: error, poll_id: pollId, request_id: requestId }, 'poll results update not published');
      })
      .finally(() => this.#inFlight.delete(sent));
    this.#inFlight.add(sent);
    state.timer = setTimeout(() => {
      if (this.#polls.get(pollId) !== state) return;
      if (state.dirty) this.#flush(pollId, state);
      else this.#polls.delete(pollId);
    }, this.#intervalMs);
    state.timer.unref();
  }
}
