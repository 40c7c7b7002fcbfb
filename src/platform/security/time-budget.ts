// Per-route time budgets: a request still unanswered when its budget runs out gets
// 504 TIMEOUT, so a stuck dependency costs a client seconds, not minutes (408 when its
// own body is still arriving). One sweeping
// timer over the in-flight requests serves them all: a timer per request, or any
// per-request bookkeeping beyond the in-flight set, cost measurable throughput.
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { EdgeConfig } from '../../config.ts';
import { AppError } from '../errors.ts';
import { sendError } from '../http/error-handler.ts';
import type { InFlightReplies } from '../http/in-flight.ts';

export type RouteKind = keyof EdgeConfig['budgets'];

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Budget kind; default: read for GET/HEAD, write otherwise. */
    timeBudget?: RouteKind;
  }
}

function routeKind(reply: FastifyReply): RouteKind {
  const { request } = reply;
  return request.routeOptions.config?.timeBudget ?? (request.method === 'GET' || request.method === 'HEAD' ? 'read' : 'write');
}

export function registerTimeBudgets(app: FastifyInstance, budgets: EdgeConfig['budgets'], inFlight: InFlightReplies): void {
  // Budgets are enforced to within a tenth of the smallest one (and never coarser than 100 ms).
  const sweepEveryMs = Math.max(5, Math.min(100, Math.floor(Math.min(...Object.values(budgets)) / 10)));
  const sweeper = setInterval(() => {
    for (const reply of inFlight) {
      const kind = routeKind(reply);
      const budgetMs = budgets[kind];
      // Fastify times every reply from routing on (it logs the duration).
      if (reply.elapsedTime < budgetMs) continue;
      inFlight.delete(reply);
      if (reply.sent) continue;
      // A body still arriving while we read it is the client's slowness, not ours: 408, so
      // a slow client cannot raise the 5xx rate at will. A body nobody reads yet (a
      // multipart upload waiting on a slow preHandler) stays our fault: 504. The connection
      // closes: the rest of the body is unwanted. (Injected test requests have no `complete`.)
      const { raw } = reply.request;
      if (raw.complete === false && raw.readableFlowing === true) {
        reply.request.log.info({ route_kind: kind, budget_ms: budgetMs }, 'request body still arriving when its time budget ran out');
        sendError(
          reply.request,
          reply,
          new AppError('REQUEST_TIMEOUT', 'The request body did not arrive in time', { headers: { connection: 'close' } }),
        );
        continue;
      }
      reply.request.log.warn({ route_kind: kind, budget_ms: budgetMs }, 'time budget exceeded');
      sendError(reply.request, reply, new AppError('TIMEOUT', `The request exceeded its ${budgetMs} ms time budget`));
    }
  }, sweepEveryMs);
  sweeper.unref();
  app.addHook('onClose', (_instance, done) => {
    clearInterval(sweeper);
    done();
  });
}
