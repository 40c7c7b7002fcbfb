// Request and response schemas of the polls API, and row-to-wire mapping (snake_case).
import { Type } from '@sinclair/typebox';
import { PageQuery } from '../../platform/http/schemas.ts';
import type { PollRow } from './repo.ts';
import { isOpen, type PollResults } from './service.ts';

export const MAX_OPTIONS = 20;

export const PollSchema = Type.Object({
  id: Type.String(),
  owner_id: Type.String(),
  question: Type.String(),
  options: Type.Array(Type.String()),
  status: Type.Union([Type.Literal('open'), Type.Literal('closed')]),
  closes_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  closed_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  created_at: Type.String({ format: 'date-time' }),
});

export const CreatePollBody = Type.Object(
  {
    question: Type.String({ minLength: 1, maxLength: 500 }),
    options: Type.Array(Type.String({ minLength: 1, maxLength: 200 }), { minItems: 2, maxItems: MAX_OPTIONS }),
    closes_at: Type.Optional(Type.String({ format: 'date-time', description: 'When voting ends; a future instant' })),
  },
  { additionalProperties: false },
);

export const ListPollsQuery = Type.Object({ ...PageQuery(100, 20) }, { additionalProperties: false });

export const VoteBody = Type.Object(
  { option: Type.Integer({ minimum: 0, maximum: MAX_OPTIONS - 1, description: 'Index of the chosen option' }) },
  { additionalProperties: false },
);

export const VoteAccepted = Type.Object({ vote_id: Type.String({ format: 'uuid' }) });

export const ResultsSchema = Type.Object({
  poll_id: Type.String(),
  status: Type.Union([Type.Literal('open'), Type.Literal('closed')]),
  options: Type.Array(Type.Object({ option: Type.Integer(), text: Type.String(), votes: Type.Integer() })),
  total: Type.Integer(),
  rejected: Type.Integer({ description: 'Votes that reached the consumer after the poll closed' }),
  pending: Type.Union([Type.Integer(), Type.Null()], { description: 'Accepted votes not yet applied (null: unknown right now)' }),
  as_of: Type.String({ format: 'date-time', description: 'When the counts were read' }),
});

export function toPoll(poll: PollRow) {
  return {
    id: poll.id,
    owner_id: poll.ownerId,
    question: poll.question,
    options: poll.options,
    status: isOpen(poll) ? ('open' as const) : ('closed' as const),
    closes_at: poll.closesAt?.toISOString() ?? null,
    closed_at: poll.closedAt?.toISOString() ?? null,
    created_at: poll.createdAt.toISOString(),
  };
}

export function toResults(results: PollResults) {
  return {
    poll_id: results.pollId,
    status: results.closed ? ('closed' as const) : ('open' as const),
    options: results.options.map((text, option) => ({ option, text, votes: results.counts[option] ?? 0 })),
    total: results.total,
    rejected: results.rejected,
    pending: results.pending,
    as_of: results.asOf,
  };
}
