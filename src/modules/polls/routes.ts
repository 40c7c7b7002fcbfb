// HTTP routes of the polls module: create, list mine, read, close, vote (202), results.
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { contextOf } from '../../platform/http/request-context.ts';
import { EmptyBody, errorResponses, IdParams, NextCursor } from '../../platform/http/schemas.ts';
import { authOf, type Guard } from '../auth/guard.ts';
import { SECURED } from '../auth/wire.ts';
import type { PollsService } from './service.ts';
import { CreatePollBody, ListPollsQuery, PollSchema, ResultsSchema, toPoll, toResults, VoteAccepted, VoteBody } from './wire.ts';

export async function registerPollRoutes(app: FastifyInstance, polls: PollsService, guard: Guard): Promise<void> {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();
  const tags = ['polls'];
  // Every poll route needs a signed-in account: polls are visible to all of them, to no one anonymous.
  const signedIn = { preHandler: guard.requireUser };
  const caller = (request: Parameters<typeof authOf>[0]) => {
    const { user } = authOf(request);
    return { id: user.id, role: user.role };
  };

  api.post(
    '/polls',
    {
      ...signedIn,
      schema: {
        tags,
        ...SECURED,
        summary: 'Create a poll (2 to 20 options); the caller owns it',
        body: CreatePollBody,
        response: { 201: Type.Object({ poll: PollSchema }), ...errorResponses },
      },
    },
    async (request, reply) => {
      const { question, options, closes_at: closesAt } = request.body;
      const poll = await polls.create(caller(request).id, { question, options, closesAt });
      return reply.code(201).send({ poll: toPoll(poll) });
    },
  );

  api.get(
    '/polls',
    {
      ...signedIn,
      schema: {
        tags,
        ...SECURED,
        summary: 'My polls, newest first; keyset paged',
        querystring: ListPollsQuery,
        response: { 200: Type.Object({ polls: Type.Array(PollSchema), next_cursor: NextCursor }), ...errorResponses },
      },
    },
    async (request) => {
      const page = await polls.listMine(caller(request).id, request.query.limit, request.query.cursor);
      return { polls: page.polls.map(toPoll), next_cursor: page.nextCursor };
    },
  );

  api.get(
    '/polls/:id',
    {
      ...signedIn,
      schema: {
        tags,
        ...SECURED,
        summary: 'A poll',
        params: IdParams,
        response: { 200: Type.Object({ poll: PollSchema }), ...errorResponses },
      },
    },
    async (request) => ({ poll: toPoll(await polls.get(request.params.id)) }),
  );

  api.post(
    '/polls/:id/close',
    {
      ...signedIn,
      schema: {
        tags,
        ...SECURED,
        summary: 'Close a poll (owner or admin); votes after the close are refused with POLL_CLOSED',
        params: IdParams,
        body: EmptyBody,
        response: { 200: Type.Object({ poll: PollSchema }), ...errorResponses },
      },
    },
    async (request) => ({ poll: toPoll(await polls.close(caller(request), request.params.id)) }),
  );

  api.post(
    '/polls/:id/votes',
    {
      ...signedIn,
      schema: {
        tags,
        ...SECURED,
        summary: 'Vote: 202 once the vote is in the vote log; the consumer applies it shortly after',
        description:
          'One vote per account per poll: a second is 409 ALREADY_VOTED; a closed poll 409 POLL_CLOSED. 503 UNAVAILABLE when the vote log cannot be reached: not accepted, except when the log lost its answer, which the message says (the vote may have been recorded; a retry answers 409 ALREADY_VOTED if it was).',
        params: IdParams,
        body: VoteBody,
        response: { 202: VoteAccepted, ...errorResponses },
      },
    },
    async (request, reply) => {
      const voteId = await polls.vote(caller(request), request.params.id, request.body.option, contextOf(request));
      return reply.code(202).send({ vote_id: voteId });
    },
  );

  api.get(
    '/polls/:id/results',
    {
      ...signedIn,
      schema: {
        tags,
        ...SECURED,
        summary: 'Counts per option, total, how fresh they are (as_of) and how many accepted votes are not applied yet',
        params: IdParams,
        response: { 200: Type.Object({ results: ResultsSchema }), ...errorResponses },
      },
    },
    async (request) => ({ results: toResults(await polls.results(request.params.id)) }),
  );
}
