// Baseline: Fastify with nothing added, answering the same body as /health/live.
import Fastify from 'fastify';

const app = Fastify();
app.get('/health/live', async () => ({ status: 'live' }));
await app.listen({ host: '127.0.0.1', port: Number(process.argv[2]) });
console.log('ready');
