// Request and response schemas of the knowledge API, and row-to-wire mapping (snake_case).
import { Type } from '@sinclair/typebox';
import { BoundedInteger, PageQuery } from '../../platform/http/schemas.ts';
import type { BuiltContext } from './context.ts';
import type { EntryRow } from './repo.ts';
import type { SearchHit, SearchMode, SearchOutcome } from './search.ts';

export const MAX_K = 50;

export const EntrySchema = Type.Object({
  id: Type.String(),
  title: Type.String(),
  content: Type.String(),
  tags: Type.Array(Type.String()),
  source_url: Type.Union([Type.String(), Type.Null()]),
  state: Type.Union([Type.Literal('pending'), Type.Literal('ready'), Type.Literal('failed')]),
  failure_reason: Type.Union([Type.String(), Type.Null()]),
  model: Type.Union([Type.String(), Type.Null()], { description: 'The embeddings model of its vectors (null: text only so far)' }),
  chunk_count: Type.Integer(),
  created_at: Type.String({ format: 'date-time' }),
  updated_at: Type.String({ format: 'date-time' }),
});

/** The listing leaves the content out. */
export const EntrySummarySchema = Type.Omit(EntrySchema, ['content']);

export const CreateEntryBody = Type.Object(
  {
    title: Type.String({ minLength: 1, maxLength: 300 }),
    content: Type.String({ minLength: 1, description: 'Markdown or plain text, at most MAX_KNOWLEDGE_ENTRY_SIZE bytes' }),
    tags: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 50 }), { maxItems: 20, uniqueItems: true })),
    source_url: Type.Optional(Type.String({ format: 'uri', pattern: '^https?://', maxLength: 2000 })),
  },
  { additionalProperties: false },
);

export const ListEntriesQuery = Type.Object({ ...PageQuery(100, 20) }, { additionalProperties: false });

const Mode = Type.Union([Type.Literal('hybrid'), Type.Literal('vector'), Type.Literal('text')]);

export const SearchQuery = Type.Object(
  {
    q: Type.String({ minLength: 1, maxLength: 1000 }),
    k: Type.Optional(BoundedInteger({ minimum: 1, maximum: MAX_K, default: 10, description: `Hits, 1 to ${MAX_K}` })),
    mode: Type.Optional(
      Type.Union([Type.Literal('hybrid'), Type.Literal('vector'), Type.Literal('text')], {
        default: 'hybrid',
        description: 'hybrid (default), vector or text',
      }),
    ),
  },
  { additionalProperties: false },
);

const SideRank = Type.Union([Type.Object({ rank: Type.Integer(), score: Type.Number() }), Type.Null()]);

export const SearchAnswer = Type.Object({
  mode: Mode,
  requested_mode: Mode,
  fallback_reason: Type.Union([Type.String(), Type.Null()], { description: 'Why mode is not the one requested' }),
  hits: Type.Array(
    Type.Object({
      entry_id: Type.String(),
      title: Type.String(),
      chunk_id: Type.String(),
      position: Type.Integer(),
      chunk: Type.String(),
      snippet: Type.Object({
        text: Type.String(),
        highlights: Type.Array(Type.Tuple([Type.Integer(), Type.Integer()]), { description: '[start, end) of each match in text' }),
      }),
      score: Type.Number({ description: 'Reciprocal rank fusion score (hybrid), cosine similarity (vector) or ts_rank (text)' }),
      vector: SideRank,
      text: SideRank,
    }),
  ),
});

export const ContextBody = Type.Object(
  {
    query: Type.String({ minLength: 1, maxLength: 1000 }),
    max_context_length: Type.Integer({ minimum: 1, maximum: 200_000, description: 'Characters the context may not exceed' }),
    k: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_K, default: 10 })),
  },
  { additionalProperties: false },
);

export const ContextAnswer = Type.Object({
  context: Type.String(),
  citations: Type.Array(
    Type.Object({
      entry_id: Type.String(),
      title: Type.String(),
      chunk_id: Type.String(),
      position: Type.Integer(),
      chunk: Type.String({ description: 'The text taken from the chunk: context.slice(start, end)' }),
      start: Type.Integer(),
      end: Type.Integer(),
    }),
  ),
  truncated: Type.Boolean({ description: 'A chunk was cut at a boundary or left out for lack of room' }),
  mode: Mode,
});

export function toEntry(entry: EntryRow) {
  return { ...toEntrySummary(entry), content: entry.content };
}

export function toEntrySummary(entry: EntryRow) {
  return {
    id: entry.id,
    title: entry.title,
    tags: entry.tags,
    source_url: entry.sourceUrl,
    state: entry.state,
    failure_reason: entry.failureReason,
    model: entry.model,
    chunk_count: entry.chunkCount,
    created_at: entry.createdAt.toISOString(),
    updated_at: entry.updatedAt.toISOString(),
  };
}

export function toSearchAnswer(outcome: SearchOutcome) {
  return {
    mode: outcome.mode,
    requested_mode: outcome.requestedMode,
    fallback_reason: outcome.fallbackReason,
    hits: outcome.hits.map((hit: SearchHit) => ({
      entry_id: hit.entryId,
      title: hit.title,
      chunk_id: hit.chunkId,
      position: hit.position,
      chunk: hit.text,
      snippet: hit.snippet ?? { text: hit.text.slice(0, 240), highlights: [] },
      score: hit.score,
      vector: hit.vector,
      text: hit.lexical,
    })),
  };
}

export function toContextAnswer(built: BuiltContext & { mode: SearchMode }) {
  return { context: built.context, citations: built.citations, truncated: built.truncated, mode: built.mode };
}
