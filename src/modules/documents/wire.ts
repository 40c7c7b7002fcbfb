// Request and response schemas of the documents API, and row-to-wire mapping.
import { Type } from '@sinclair/typebox';
import { IdParams, PageLimit, PageQuery, RawText } from '../../platform/http/schemas.ts';
import { JOB_STATES, type JobSummary } from '../../platform/jobs/queue.ts';
import type { DocumentListing, DocumentRow, ProjectRow } from './repo.ts';

export const ProjectSchema = Type.Object({ id: Type.String(), name: Type.String(), created_at: Type.String({ format: 'date-time' }) });

const listingFields = {
  id: Type.String(),
  project_id: Type.String(),
  path: Type.String(),
  state: Type.Union([Type.Literal('pending'), Type.Literal('ready'), Type.Literal('failed')]),
  size_bytes: Type.Integer(),
  language: Type.Union([Type.String(), Type.Null()]),
  updated_at: Type.String({ format: 'date-time' }),
};
export const DocumentListingSchema = Type.Object(listingFields);
export const DocumentSchema = Type.Object({
  ...listingFields,
  sha256: Type.String(),
  failure_reason: Type.Union([Type.String(), Type.Null()]),
  line_count: Type.Union([Type.Integer(), Type.Null()]),
  symbols: Type.Union([Type.Array(Type.String()), Type.Null()]),
  created_at: Type.String({ format: 'date-time' }),
});

/** A document rendered to sanitized HTML (GET /documents/:id/rendered). */
export const RenderedDocumentSchema = Type.Object({ document: DocumentListingSchema, html: Type.String() });

export const ImportParams = Type.Object({ ...IdParams.properties, job_id: Type.String({ format: 'uuid' }) });
/** An archive import's body: the archive's bytes, taken as they are. */
export const ArchiveBody = Type.Unsafe<Buffer>({ description: 'The archive bytes' });
export const ImportStarted = Type.Object({ job: Type.Object({ id: Type.String(), type: Type.String() }) });
export const ImportSchema = Type.Object({
  id: Type.String(),
  state: Type.String({ description: JOB_STATES.join(', ') }),
  attempts: Type.Integer(),
  created_at: Type.String({ format: 'date-time' }),
  completed_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  result: Type.Unknown(),
});
export const CreateProjectBody = Type.Object({ name: Type.String({ minLength: 1, maxLength: 200 }) }, { additionalProperties: false });
// The schema bounds the JSON; the service bounds the bytes (MAX_UPLOAD_FILE_SIZE) with a 413.
// Both are raw text: content is stored as bytes (NUL marks a binary file), and the path
// rules refuse NUL and unpaired surrogates themselves, with PATH_NOT_ALLOWED.
export const JsonUploadBody = Type.Object(
  { path: RawText({ minLength: 1, maxLength: 4096 }), content: RawText() },
  { additionalProperties: false },
);
export const ListQuery = Type.Object(
  {
    prefix: Type.Optional(Type.String({ maxLength: 1024 })),
    q: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    ...PageQuery(500, 100),
  },
  { additionalProperties: false },
);
export const SearchQuery = Type.Object(
  { q: Type.String({ minLength: 1, maxLength: 200 }), limit: PageLimit(200, 50) },
  { additionalProperties: false },
);

export function toProject(row: ProjectRow) {
  return { id: row.id, name: row.name, created_at: row.createdAt.toISOString() };
}

export function toListing(row: DocumentListing) {
  return {
    id: row.id,
    project_id: row.projectId,
    path: row.path,
    state: row.state,
    size_bytes: row.sizeBytes,
    language: row.language,
    updated_at: row.updatedAt.toISOString(),
  };
}

const CLOSING_BRACE = Buffer.from('}');

/**
 * GET /documents/:id's body as its 200 schema describes it, put together from bytes: the
 * document's metadata as its schema's serializer wrote it, and the content's JSON as the
 * content cache keeps it (service.ts), so the text is neither escaped nor encoded per read.
 */
export function documentReadBody(documentJson: string, contentJson: Buffer): Buffer {
  return Buffer.concat([Buffer.from(`{"document":${documentJson},"content":`), contentJson, CLOSING_BRACE]);
}

export function toDocument(row: DocumentRow) {
  return {
    ...toListing(row),
    sha256: row.sha256,
    failure_reason: row.failureReason,
    line_count: row.lineCount,
    symbols: row.symbols,
    created_at: row.createdAt.toISOString(),
  };
}

export function toRenderedDocument(row: DocumentListing, html: string) {
  return { document: toListing(row), html };
}

/** An import job as its owner sees it: no job data (it names the stored archive). */
export function toImport(job: JobSummary) {
  return {
    id: job.id,
    state: job.state,
    attempts: job.attempts,
    created_at: job.created_at,
    completed_at: job.completed_at,
    result: job.output ?? null,
  };
}
