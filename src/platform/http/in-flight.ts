// The requests this server is still answering. Time budgets sweep them for overdue
// ones and a draining server tells their connections to close, so neither needs a
// hook of its own on every request; a draining server's connection policy is read here too.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ConnectionPolicy } from './draining.ts';

/** Where a reply sits in its InFlightReplies, on the reply itself. */
const SLOT = Symbol('inFlightSlot');
type Slotted = FastifyReply & { [SLOT]?: number };

/**
 * The replies still being answered: a slot array with a free list, each reply holding its
 * own slot index, so a slot is emptied in place. Not a Set: V8 never compacts a Set's table
 * in place. Every few adds a churning Set moves to a new table (in the old generation once
 * its table lives there), and the table it leaves still points at every entry it held at
 * that moment (v8 src/objects/ordered-hash-table.cc, Rehash). Such a table is old-generation
 * garbage, which a minor collection cannot tell from live data, so each reply it points at
 * survives minor collections, with its request, until the next full one. When requests wait
 * (a Redis round trip, any later macrotask), every request is in the Set at some move.
 * Measured with `rampart serve` at 1,000 authenticated reads a second (scale shape): old
 * space grew ~3 KB a request and minor pauses took 10-20 ms instead of 1-3 ms; an extra
 * macrotask in the request path, with Redis out of it, did the same, and stopped doing it
 * with this structure. The reads bench's p99 (issue 13) is where it showed.
 */
export class InFlightReplies implements Iterable<FastifyReply> {
  readonly #slots: (FastifyReply | undefined)[] = [];
  readonly #free: number[] = [];
  #size = 0;

  get size(): number {
    return this.#size;
  }

  add(reply: FastifyReply): void {
    const slotted = reply as Slotted;
    if (slotted[SLOT] !== undefined) return;
    const index = this.#free.pop() ?? this.#slots.length;
    this.#slots[index] = reply;
    slotted[SLOT] = index;
    this.#size += 1;
  }

  delete(reply: FastifyReply): boolean {
    const slotted = reply as Slotted;
    const index = slotted[SLOT];
    if (index === undefined || this.#slots[index] !== reply) return false;
    this.#slots[index] = undefined;
    slotted[SLOT] = undefined;
    this.#free.push(index);
    this.#size -= 1;
    return true;
  }

  /** Deleting while iterating is safe: a slot emptied ahead is skipped, a reply added may be seen. */
  *[Symbol.iterator](): Iterator<FastifyReply> {
    const slots = this.#slots;
    for (let index = 0; index < slots.length; index += 1) {
      const reply = slots[index];
      if (reply !== undefined) yield reply;
    }
  }
}

export interface InFlightRequests {
  /** The replies still being answered. */
  readonly replies: InFlightReplies;
  /**
   * Counts a request in (and, while the server drains, closes its connection after the answer).
   * app.ts calls it from its first onRequest hook, which every
   * request runs anyway: a hook of its own is one more step of Fastify's hook runner
   * on every request (bench/edge.ts, "server CPU us/request").
   */
  enter(reply: FastifyReply): void;
}

/**
 * `onFinished` sees every answered request (metrics) from the same onResponse hook, so
 * counting a request costs a call, not a hook of its own.
 */
export function trackInFlightRequests(
  app: FastifyInstance,
  onFinished: (request: FastifyRequest, reply: FastifyReply) => void = () => {},
  connections: ConnectionPolicy = { closeEveryConnection: false },
): InFlightRequests {
  const replies = new InFlightReplies();
  // Leaving promptly matters: replies kept until a later sweep survive into the old
  // generation (GC cost measured at ~10 % of throughput). A client that hangs up never
  // reaches onResponse; the time-budget sweep drops such replies once overdue.
  app.addHook('onResponse', (request, reply, done) => {
    replies.delete(reply);
    onFinished(request, reply);
    done();
  });
  return {
    replies,
    enter: (reply) => {
      replies.add(reply);
      if (connections.closeEveryConnection) reply.header('connection', 'close');
    },
  };
}
