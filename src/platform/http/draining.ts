// While the server drains for shutdown, every response it still sends closes its
// connection. Otherwise a keep-alive client holds the server open until its idle
// timeout (72 s), well past the shutdown grace period.
import type { FastifyInstance, FastifyReply } from 'fastify';

export function closeConnectionsWhileDraining(app: FastifyInstance, inFlight: Iterable<FastifyReply>): void {
  app.addHook('preClose', (done) => {
    // Requests that arrive from now on get Connection: close from Fastify itself (it
    // marks itself closing before preClose); these are the ones already being answered.
    for (const reply of inFlight) {
      if (!reply.raw.headersSent) reply.header('connection', 'close');
    }
    done();
  });
}
