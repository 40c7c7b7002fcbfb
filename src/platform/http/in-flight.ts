// The requests this server is still answering. Time budgets sweep them for overdue
// ones and a draining server tells their connections to close, so neither needs a
// hook of its own on every request; a draining server's connection policy is read here too.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ConnectionPolicy } from './draining.ts';

export interface InFlightRequests {
  /** The replies still being answered. */
  readonly replies: Set<FastifyReply>;
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
  const replies = new Set<FastifyReply>();
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
