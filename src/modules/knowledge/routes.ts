// HTTP routes of the knowledge module: entries (create 202, read, list, delete), search, context.
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { contextOf } from '../../platform/http/request-context.ts';
import { EmptyBody, errorResponses, IdParams, NextCursor, NoContent } from '../../platform/http/schemas.ts';
import { authOf, type Guard } from '../auth/guard.ts';
import { SECURED } from '../auth/wire.ts';
import type { KnowledgeSearch } from './search.ts';
import type { KnowledgeService } from './service.ts';
import {
  ContextAnswer,
  ContextBody,
  CreateEntryBody,
  EntrySchema,
  EntrySummarySchema,
  ListEntriesQuery,
  SearchAnswer,
  SearchQuery,
  toContextAnswer,
  toEntry,
  toEntrySummary,
  toSearchAnswer,
} from './wire.ts';

export async function registerKnowledgeRoutes(
  app: FastifyInstance,
  knowledge: KnowledgeService,
  search: KnowledgeSearch,
  guard: Guard,
  maxEntryBytes: number,
): Promise<void> {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();
  const tags = ['knowledge'];
  // Entries belong to their owner; every route needs a signed-in account.
  const signedIn = { preHandler: guard.requireUser };
  const caller = (request: Parameters<typeof authOf>[0]) => {
    const { user } = authOf(request);
    return { id: user.id, role: user.role };
  };

  api.post(
    '/knowledge/entries',
    {
      ...signedIn,
      // Room for the content's JSON escaping; the content's own byte limit is checked after parsing (413).
      bodyLimit: Math.max(app.initialConfig.bodyLimit ?? 0, maxEntryBytes * 2 + 16_384),
      schema: {
        tags,
        ...SECURED,
        summary: 'Add an entry: 202 with state pending; a job chunks and embeds it, then it is ready (or failed, with a reason)',
        body: CreateEntryBody,
        response: { 202: Type.Object({ entry: EntrySchema }), ...errorResponses },
      },
    },
    async (request, reply) => {
      const { title, content, tags: entryTags, source_url: sourceUrl } = request.body;
      const entry = await knowledge.create(
        caller(request).id,
        { title, content, tags: entryTags ?? [], sourceUrl: sourceUrl ?? null },
        contextOf(request),
      );
      return reply.code(202).send({ entry: toEntry(entry) });
    },
  );

  api.get(
    '/knowledge/entries',
    {
      ...signedIn,
      schema: {
        tags,
        ...SECURED,
        summary: 'My entries, newest first, without their content; keyset paged',
        querystring: ListEntriesQuery,
        response: { 200: Type.Object({ entries: Type.Array(EntrySummarySchema), next_cursor: NextCursor }), ...errorResponses },
      },
    },
    async (request) => {
      const page = await knowledge.listMine(caller(request).id, request.query.limit, request.query.cursor);
      return { entries: page.entries.map(toEntrySummary), next_cursor: page.nextCursor };
    },
  );

  api.get(
    '/knowledge/entries/:id',
    {
      ...signedIn,
      schema: {
        tags,
        ...SECURED,
        summary: 'One of my entries',
        params: IdParams,
        response: { 200: Type.Object({ entry: EntrySchema }), ...errorResponses },
      },
    },
    async (request) => ({ entry: toEntry(await knowledge.get(caller(request), request.params.id)) }),
  );

  api.delete(
    '/knowledge/entries/:id',
    {
      ...signedIn,
      schema: {
        tags,
        ...SECURED,
        summary: 'Delete one of my entries with its chunks and vectors',
        params: IdParams,
        body: EmptyBody,
        response: { 204: NoContent, ...errorResponses },
      },
    },
    async (request, reply) => {
      await knowledge.delete(caller(request), request.params.id);
      return reply.code(204).send();
    },
  );

  api.get(
    '/knowledge/search',
    {
      ...signedIn,
      config: { timeBudget: 'search' },
      schema: {
        tags,
        ...SECURED,
        summary: 'Search my entries: hybrid (default; vector + full-text fused by reciprocal rank), vector, or text',
        description:
          'Where vectors cannot be used (no pgvector, embeddings provider down) the search runs on text and `mode` says "text"; never an error.',
        querystring: SearchQuery,
        response: { 200: SearchAnswer, ...errorResponses },
      },
    },
    async (request) => {
      const { q, k = 10, mode = 'hybrid' } = request.query;
      return toSearchAnswer(await search.search(caller(request).id, q, k, mode, { snippets: true }));
    },
  );

  api.post(
    '/knowledge/context',
    {
      ...signedIn,
      config: { timeBudget: 'search' },
      schema: {
        tags,
        ...SECURED,
        summary:
          'A context for a model prompt: the top chunks in rank order, near-duplicates dropped, at most max_context_length characters, with citations',
        body: ContextBody,
        response: { 200: ContextAnswer, ...errorResponses },
      },
    },
    async (request) => {
      const { query, max_context_length: maxLength, k = 10 } = request.body;
      return toContextAnswer(await search.context(caller(request).id, query, maxLength, k));
    },
  );
}
