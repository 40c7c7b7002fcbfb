// Admin API for durable jobs: list (by state and type, paged), inspect, retry, cancel.
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { decodeCursor, isTimestampText, isUuid } from '../../platform/http/keyset.ts';
import { EmptyBody, errorResponses, IdParams, NextCursor, NoContent, PageQuery } from '../../platform/http/schemas.ts';
import { JOB_STATES, type JobQueue } from '../../platform/jobs/queue.ts';
import type { RealtimeHub } from '../../platform/realtime/hub.ts';
import type { Guard } from '../auth/guard.ts';
import { SECURED } from '../auth/wire.ts';
import { JobSchema } from './wire.ts';

export async function registerAdminJobRoutes(app: FastifyInstance, jobs: JobQueue, guard: Guard, realtime: RealtimeHub): Promise<void> {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();
  const tags = ['admin'];

  api.get(
    '/admin/jobs',
    {
      preHandler: guard.requireAdmin,
      schema: {
        tags,
        ...SECURED,
        summary: 'List jobs, newest first',
        querystring: Type.Object(
          {
            state: Type.Optional(Type.Union(JOB_STATES.map((state) => Type.Literal(state)))),
            type: Type.Optional(Type.String({ maxLength: 200 })),
            ...PageQuery(200, 50),
          },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({ jobs: Type.Array(JobSchema), next_cursor: NextCursor }),
          ...errorResponses,
        },
      },
    },
    async (request) => {
      const { state, type, limit, cursor } = request.query;
      const [createdAt, id] = cursor ? decodeCursor(cursor, [isTimestampText, isUuid]) : [];
      const page = await jobs.list({ state, type, limit, before: createdAt && id ? { createdAt, id } : undefined });
      return { jobs: page.jobs, next_cursor: page.nextCursor };
    },
  );

  api.get(
    '/admin/jobs/:id',
    {
      preHandler: guard.requireAdmin,
      schema: {
        tags,
        ...SECURED,
        summary: 'One job, with its data',
        params: IdParams,
        response: { 200: Type.Object({ job: Type.Object({ ...JobSchema.properties, data: Type.Unknown() }) }), ...errorResponses },
      },
    },
    async (request) => ({ job: await jobs.get(request.params.id) }),
  );

  for (const action of ['retry', 'cancel'] as const) {
    api.post(
      `/admin/jobs/:id/${action}`,
      {
        preHandler: guard.requireAdmin,
        schema: {
          tags,
          ...SECURED,
          summary: action === 'retry' ? 'Retry a failed or cancelled job' : 'Cancel a pending or active job',
          params: IdParams,
          body: EmptyBody,
          response: { 204: NoContent, ...errorResponses },
        },
      },
      async (request, reply) => {
        await (action === 'retry' ? jobs.retry(request.params.id) : jobs.cancel(request.params.id));
        request.log.info({ event: `jobs.${action}`, job_id: request.params.id }, `job ${action} requested`);
        realtime.publish('jobs', action === 'retry' ? 'job.retried' : 'job.cancelled', { id: request.params.id }, request.id);
        return reply.code(204).send();
      },
    );
  }
}
