// Reference: bare Fastify sending the same response headers as Rampart (the security set,
// X-Request-ID and Vary: Origin) and nothing else, to show how much of the gap to bare
// Fastify is the header set itself rather than the rest of the hardened stack.
import { randomUUID } from 'node:crypto';
import Fastify from 'fastify';
import { RAMPART_RESPONSE_HEADERS } from './rampart-response-headers.ts';

const app = Fastify();
app.addHook('onRequest', (_request, reply, done) => {
  reply.header('x-request-id', randomUUID());
  reply.headers(RAMPART_RESPONSE_HEADERS);
  done();
});
app.get('/health/live', async () => ({ status: 'live' }));
await app.listen({ host: '127.0.0.1', port: Number(process.argv[2]) });
console.log('ready');
