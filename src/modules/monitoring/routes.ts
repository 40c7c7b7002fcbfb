// Admin routes of the monitoring module: alerts (active, and history paged), the rules with
// their last evaluation, silences, and the metrics overview. Admin role only, through the guard it is given.
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { errorResponses, IdParams, NextCursor, NoContent, PageQuery } from '../../platform/http/schemas.ts';
import type { Guard } from '../auth/guard.ts';
import { authOf } from '../auth/guard.ts';
import { SECURED } from '../auth/wire.ts';
import { type MetricsOverview, OVERVIEW_WINDOW_MS } from './overview.ts';
import type { MonitoringService } from './service.ts';
import {
  AlertHistorySchema,
  AlertRuleSchema,
  AlertSchema,
  CreateSilenceBody,
  OverviewSchema,
  SilenceSchema,
  toAlert,
  toAlertHistory,
  toAlertRule,
  toSilence,
} from './wire.ts';

export async function registerMonitoringRoutes(
  app: FastifyInstance,
  service: MonitoringService,
  guard: Guard,
  overview: MetricsOverview,
): Promise<void> {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();
  const tags = ['monitoring'];

  api.get(
    '/admin/alerts',
    {
      preHandler: guard.requireAdmin,
      schema: {
        tags,
        ...SECURED,
        summary: 'Active alerts (pending and firing), and the history of transitions, newest first',
        querystring: Type.Object({ ...PageQuery(200, 50) }, { additionalProperties: false }),
        response: {
          200: Type.Object({ active: Type.Array(AlertSchema), history: Type.Array(AlertHistorySchema), next_cursor: NextCursor }),
          ...errorResponses,
        },
      },
    },
    async (request) => {
      const { active, history, nextCursor } = await service.alerts(request.query);
      return { active: active.map(toAlert), history: history.map(toAlertHistory), next_cursor: nextCursor };
    },
  );

  api.get(
    '/admin/alert-rules',
    {
      preHandler: guard.requireAdmin,
      schema: {
        tags,
        ...SECURED,
        summary: 'Every loaded alert rule, with its state and last evaluation',
        response: { 200: Type.Object({ rules: Type.Array(AlertRuleSchema) }), ...errorResponses },
      },
    },
    async () => ({ rules: (await service.rules()).map(({ rule, status }) => toAlertRule(rule, status)) }),
  );

  api.get(
    '/admin/metrics/overview',
    {
      preHandler: guard.requireAdmin,
      schema: {
        tags,
        ...SECURED,
        summary: 'Request rate, 5xx ratio and p95 latency of the whole cluster over the last hour, one point per evaluation interval',
        description:
          'Points are recorded where the alert evaluator runs (a worker, or serve with IN_PROCESS_WORKER), from the metrics every process publishes; empty until two evaluations have run.',
        response: { 200: OverviewSchema, ...errorResponses },
      },
    },
    async () => ({ step_seconds: overview.stepMs / 1000, window_seconds: OVERVIEW_WINDOW_MS / 1000, points: await overview.points() }),
  );

  api.post(
    '/admin/silences',
    {
      preHandler: guard.requireAdmin,
      schema: {
        tags,
        ...SECURED,
        summary: 'Silence notifications of alerts matching every matcher until ends_at (evaluation goes on)',
        body: CreateSilenceBody,
        response: { 201: Type.Object({ silence: SilenceSchema }), ...errorResponses },
      },
    },
    async (request, reply) => {
      const { matchers, comment, ends_at } = request.body;
      const silence = await service.createSilence({ matchers, comment, endsAt: new Date(ends_at) }, authOf(request).user.id);
      request.log.info({ event: 'alerts.silenced', silence_id: silence.id }, 'silence created');
      return reply.code(201).send({ silence: toSilence(silence) });
    },
  );

  api.delete(
    '/admin/silences/:id',
    {
      preHandler: guard.requireAdmin,
      schema: { tags, ...SECURED, summary: 'End a silence now', params: IdParams, response: { 204: NoContent, ...errorResponses } },
    },
    async (request, reply) => {
      await service.expireSilence(request.params.id);
      request.log.info({ event: 'alerts.unsilenced', silence_id: request.params.id }, 'silence ended');
      return reply.code(204).send();
    },
  );
}
