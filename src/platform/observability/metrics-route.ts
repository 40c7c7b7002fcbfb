// GET /metrics at the root: the Prometheus exposition, for a bearer of METRICS_TOKEN when
// one is set, otherwise for loopback clients only; anyone else gets 403 in the envelope.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { AppError } from '../errors.ts';
import type { Metrics } from './metrics.ts';

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

/** The socket's own address: a forwarded-for header, trusted proxy or not, never counts. */
export function isLoopback(address: string | undefined): boolean {
  if (address === undefined) return false;
  const v4 = address.startsWith('::ffff:') ? address.slice(7) : address;
  return v4.startsWith('127.') || address === '::1';
}

/**
 * Decides whether a request may read the metrics. Digests of equal length go through
 * timingSafeEqual, so the comparison takes the same time whatever the token's length or
 * how much of it matched.
 */
export function metricsAccess(token: string | undefined): (request: FastifyRequest) => boolean {
  if (token === undefined) return (request) => isLoopback(request.raw.socket.remoteAddress);
  const expected = digest(`Bearer ${token}`);
  return (request) => {
    const presented = request.headers.authorization;
    return typeof presented === 'string' && timingSafeEqual(digest(presented), expected);
  };
}

export function registerMetricsRoute(app: FastifyInstance, metrics: Metrics, token: string | undefined): void {
  const allowed = metricsAccess(token);
  app.get(
    '/metrics',
    {
      schema: {
        summary: 'Prometheus metrics (text exposition format)',
        description: 'Authorization: Bearer METRICS_TOKEN when that is set; otherwise loopback clients only.',
        response: { 200: { type: 'string' } },
      },
    },
    async (request, reply) => {
      if (!allowed(request)) {
        throw new AppError(
          'FORBIDDEN',
          token === undefined ? 'Metrics are served to loopback clients only' : 'Metrics need the metrics token',
        );
      }
      const { contentType, body } = await metrics.render();
      reply.header('cache-control', 'no-store');
      return reply.type(contentType).send(body);
    },
  );
}
