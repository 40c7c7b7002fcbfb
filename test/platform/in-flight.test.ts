// The in-flight replies (platform/http/in-flight.ts): what the time-budget sweep and the
// shutdown drain walk. Slots are reused, a reply is counted once, and the walk survives
// the deletions the sweep makes while it walks.
import type { FastifyReply } from 'fastify';
import { describe, expect, it } from 'vitest';
import { InFlightReplies } from '../../src/platform/http/in-flight.ts';

function replies(count: number): FastifyReply[] {
  return Array.from({ length: count }, (_, index) => ({ id: index }) as unknown as FastifyReply);
}

describe('InFlightReplies', () => {
  it('walks the replies still in flight, and forgets the answered ones', () => {
    const inFlight = new InFlightReplies();
    const [first, second, third] = replies(3) as [FastifyReply, FastifyReply, FastifyReply];
    inFlight.add(first);
    inFlight.add(second);
    inFlight.add(third);
    expect(inFlight.delete(second)).toBe(true);
    expect([...inFlight]).toEqual([first, third]);
    expect(inFlight.size).toBe(2);
    // Answered twice (the sweep's timeout, then onResponse): the second is a no-op.
    expect(inFlight.delete(second)).toBe(false);
    expect(inFlight.size).toBe(2);
  });

  it('counts a reply added twice once', () => {
    const inFlight = new InFlightReplies();
    const [reply] = replies(1) as [FastifyReply];
    inFlight.add(reply);
    inFlight.add(reply);
    expect(inFlight.size).toBe(1);
    expect([...inFlight]).toEqual([reply]);
  });

  it('reuses a freed slot without confusing its old holder with the new one', () => {
    const inFlight = new InFlightReplies();
    const [old, next, other] = replies(3) as [FastifyReply, FastifyReply, FastifyReply];
    inFlight.add(old);
    inFlight.add(other);
    inFlight.delete(old);
    inFlight.add(next); // takes old's slot
    expect(inFlight.delete(old)).toBe(false);
    expect(new Set(inFlight)).toEqual(new Set([next, other]));
    expect(inFlight.size).toBe(2);
    // Steady churn needs no more slots than the most replies ever in flight at once.
    for (const reply of replies(1000)) {
      inFlight.add(reply);
      inFlight.delete(reply);
    }
    expect(inFlight.size).toBe(2);
    expect([...inFlight]).toHaveLength(2);
  });

  it('lets the walk delete what it visits and what lies ahead', () => {
    const inFlight = new InFlightReplies();
    const all = replies(5);
    for (const reply of all) inFlight.add(reply);
    const visited: FastifyReply[] = [];
    for (const reply of inFlight) {
      visited.push(reply);
      inFlight.delete(reply);
      if (reply === all[1]) inFlight.delete(all[3] as FastifyReply);
    }
    expect(visited).toEqual([all[0], all[1], all[2], all[4]]);
    expect(inFlight.size).toBe(0);
    expect([...inFlight]).toEqual([]);
  });
});
