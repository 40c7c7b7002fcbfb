// Load shedding: when event-loop delay or heap pass their thresholds, answer 503
// UNAVAILABLE with Retry-After instead of queueing work the process cannot finish.
import underPressure from '@fastify/under-pressure';
import type { FastifyInstance } from 'fastify';
import type { EdgeConfig } from '../../config.ts';
import { AppError } from '../errors.ts';
import { sendError } from '../http/error-handler.ts';

export async function registerOverloadProtection(app: FastifyInstance, edge: EdgeConfig): Promise<void> {
  await app.register(underPressure, {
    // 0 turns the check off. Any other threshold also sheds for a second whenever the loop
    // could not take a single delay sample in one (under-pressure reads that as Infinity,
    // fastify/under-pressure#125): a process starved of CPU that badly is overloaded.
    ...(edge.overloadMaxEventLoopDelayMs > 0 ? { maxEventLoopDelay: edge.overloadMaxEventLoopDelayMs } : {}),
    ...(edge.overloadMaxHeapUsedBytes > 0 ? { maxHeapUsedBytes: edge.overloadMaxHeapUsedBytes } : {}),
    retryAfter: 5,
    pressureHandler: (request, reply, type, value) => {
      request.log.warn({ pressure: type, value }, 'shedding load');
      sendError(
        request,
        reply,
        new AppError('UNAVAILABLE', 'Server is overloaded; try again shortly', { headers: { 'retry-after': '5' } }),
      );
    },
  });
}
