// While the server drains for shutdown, every response it still sends closes its
// connection. Otherwise a keep-alive client holds the server open until its idle
// timeout (72 s), well past the shutdown grace period.
import type { FastifyInstance } from 'fastify';

export function closeConnectionsWhileDraining(app: FastifyInstance): void {
  let draining = false;
  app.addHook('preClose', (done) => {
    draining = true;
    done();
  });
  app.addHook('onSend', (_request, reply, payload, done) => {
    if (draining) reply.header('connection', 'close');
    done(null, payload);
  });
}
