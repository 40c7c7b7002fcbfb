// HTTP routes of the documents module: projects, uploads (JSON or multipart), listing, search, read, delete.
import multipart from '@fastify/multipart';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyReply } from 'fastify';
import fresh from 'fresh';
import type { UploadsConfig } from '../../config.ts';
import { AppError } from '../../platform/errors.ts';
import { clientGone } from '../../platform/http/client-gone.ts';
import { contextOf } from '../../platform/http/request-context.ts';
import { EmptyBody, errorResponses, IdParams, NoContent } from '../../platform/http/schemas.ts';
import { authOf, type Guard } from '../auth/guard.ts';
import { SECURED } from '../auth/wire.ts';
import type { RenderService } from '../render/service.ts';
import type { ArchiveFormat } from './archive.ts';
import { multipartLimits, readMultipart, uploadTooLarge } from './multipart.ts';
import { type DocumentsService, IMPORT_JOB } from './service.ts';
import {
  ArchiveBody,
  CreateProjectBody,
  DocumentListingSchema,
  DocumentSchema,
  documentReadBody,
  ImportParams,
  ImportSchema,
  ImportStarted,
  JsonUploadBody,
  ListQuery,
  ProjectSchema,
  RenderedDocumentSchema,
  SearchQuery,
  toDocument,
  toImport,
  toListing,
  toProject,
  toRenderedDocument,
} from './wire.ts';

const ARCHIVE_TYPES: Record<string, ArchiveFormat> = {
  'application/zip': 'zip',
  'application/x-tar': 'tar',
  'application/gzip': 'tar.gz',
};

export async function registerDocumentRoutes(
  app: FastifyInstance,
  documents: DocumentsService,
  guard: Guard,
  limits: UploadsConfig,
  render: RenderService,
): Promise<void> {
  await app.register(multipart, {
    preservePath: true, // busboy would strip directories from filenames; the path is the point
    limits: multipartLimits(limits),
  });
  // Archives arrive as raw bytes; the import job unpacks them.
  app.addContentTypeParser(Object.keys(ARCHIVE_TYPES), { parseAs: 'buffer', bodyLimit: limits.maxRequestBytes }, (_request, body, done) =>
    done(null, body),
  );
  const api = app.withTypeProvider<TypeBoxTypeProvider>();
  const tags = ['documents'];
  // Uploads and imports: signed in, the upload body limit and the upload time budget.
  const uploadRoute = { preHandler: guard.requireUser, bodyLimit: limits.maxRequestBytes, config: { timeBudget: 'upload' as const } };

  api.post(
    '/projects/:id/import',
    {
      ...uploadRoute,
      schema: {
        tags,
        ...SECURED,
        summary: 'Import a zip, tar or tar.gz archive; a job unpacks it with the same path rules and size limits',
        params: IdParams,
        body: { content: Object.fromEntries(Object.keys(ARCHIVE_TYPES).map((type) => [type, { schema: ArchiveBody }])) },
        response: { 202: ImportStarted, ...errorResponses },
      },
    },
    async (request, reply) => {
      const format = ARCHIVE_TYPES[request.headers['content-type']?.split(';')[0]?.trim().toLowerCase() ?? ''];
      if (!format) throw new AppError('UNSUPPORTED_MEDIA_TYPE', `Send the archive as ${Object.keys(ARCHIVE_TYPES).join(', ')}`);
      const id = await documents.startImport(
        authOf(request).user.id,
        request.params.id,
        request.body as Buffer,
        format,
        contextOf(request),
      );
      return reply.code(202).send({ job: { id, type: IMPORT_JOB } });
    },
  );

  api.get(
    '/projects/:id/imports/:job_id',
    {
      preHandler: guard.requireUser,
      schema: {
        tags,
        ...SECURED,
        summary: 'State and outcome of an archive import',
        description: 'result is set once the import job ends: {status: "imported", files, changed} or {status: "rejected", reason}.',
        params: ImportParams,
        response: { 200: Type.Object({ import: ImportSchema }), ...errorResponses },
      },
    },
    async (request) => ({
      import: toImport(await documents.importStatus(authOf(request).user.id, request.params.id, request.params.job_id)),
    }),
  );

  api.post(
    '/projects',
    {
      preHandler: guard.requireUser,
      schema: {
        tags,
        ...SECURED,
        summary: 'Create a project',
        body: CreateProjectBody,
        response: { 201: Type.Object({ project: ProjectSchema }), ...errorResponses },
      },
    },
    async (request, reply) =>
      reply.code(201).send({ project: toProject(await documents.createProject(authOf(request).user.id, request.body.name)) }),
  );

  api.get(
    '/projects',
    {
      preHandler: guard.requireUser,
      schema: {
        tags,
        ...SECURED,
        summary: 'My projects',
        response: { 200: Type.Object({ projects: Type.Array(ProjectSchema) }), ...errorResponses },
      },
    },
    async (request) => ({ projects: (await documents.listProjects(authOf(request).user.id)).map(toProject) }),
  );

  api.post(
    '/projects/:id/documents',
    {
      ...uploadRoute,
      schema: {
        tags,
        ...SECURED,
        summary: 'Upload documents: JSON {path, content} or multipart files (a `path` field before a file names it)',
        params: IdParams,
        body: { content: { 'application/json': { schema: JsonUploadBody }, 'multipart/form-data': { schema: EmptyBody } } },
        response: {
          200: Type.Object({ document: DocumentSchema }),
          202: Type.Object({ document: Type.Optional(DocumentSchema), documents: Type.Optional(Type.Array(DocumentSchema)) }),
          ...errorResponses,
        },
      },
    },
    async (request, reply) => {
      const owner = authOf(request).user.id;
      if (request.isMultipart()) {
        const results = await documents.upload(owner, request.params.id, await readMultipart(request, limits), contextOf(request));
        return reply.code(202).send({ documents: results.map((result) => toDocument(result.document)) });
      }
      const body = request.body as { path: string; content: string };
      const content = Buffer.from(body.content, 'utf8');
      if (content.length > limits.maxFileBytes) throw uploadTooLarge(limits);
      const [result] = await documents.upload(owner, request.params.id, [{ path: body.path, content }], contextOf(request));
      if (!result) throw new Error('upload returned no result');
      // 202: parsing runs in a job; 200: identical content was already there.
      return reply.code(result.changed ? 202 : 200).send({ document: toDocument(result.document) });
    },
  );

  api.get(
    '/projects/:id/documents',
    {
      preHandler: guard.requireUser,
      config: { timeBudget: 'search' },
      schema: {
        tags,
        ...SECURED,
        summary: 'List documents in path order (prefix), or find them by filename substring (q); keyset paged',
        params: IdParams,
        querystring: ListQuery,
        response: {
          200: Type.Object({ documents: Type.Array(DocumentListingSchema), next_cursor: Type.Union([Type.String(), Type.Null()]) }),
          ...errorResponses,
        },
      },
    },
    async (request) => {
      const page = await documents.list(authOf(request).user.id, request.params.id, request.query);
      return { documents: page.documents.map(toListing), next_cursor: page.nextCursor };
    },
  );

  api.get(
    '/documents/search',
    {
      preHandler: guard.requireUser,
      config: { timeBudget: 'search' },
      schema: {
        tags,
        ...SECURED,
        summary: 'Find documents by filename substring across my projects',
        description: 'Case-insensitive substring of the path. Results come newest project first, in path order inside each project.',
        querystring: SearchQuery,
        response: { 200: Type.Object({ documents: Type.Array(DocumentListingSchema) }), ...errorResponses },
      },
    },
    async (request) => ({
      documents: (await documents.searchAll(authOf(request).user.id, request.query.q, request.query.limit)).map(toListing),
    }),
  );

  api.get(
    '/documents/:id',
    {
      preHandler: guard.requireUser,
      schema: {
        tags,
        ...SECURED,
        summary: 'A document: metadata and content',
        description:
          'Answers with a strong ETag; send it back as If-None-Match to get 304 Not Modified (no body) while neither the content nor the metadata changed.',
        params: IdParams,
        response: { 200: Type.Object({ document: DocumentSchema, content: Type.String() }), 304: NoContent, ...errorResponses },
      },
    },
    async (request, reply) => {
      const owner = authOf(request).user.id;
      const document = await documents.find(owner, request.params.id);
      // The representation is the content and its metadata (a parse turns pending into ready
      // without new bytes), so the tag is the content hash with the row's version.
      const etag = `"${document.sha256}.${document.updatedAt.getTime().toString(36)}"`;
      // Revalidate on every use, and never in a shared cache: it is one account's data.
      const validators = { etag, 'cache-control': 'private, no-cache' };
      if (fresh(request.headers, { etag })) return reply.code(304).headers(validators).send();
      // Read first: a 410 for missing bytes must not carry the document's validators.
      const content = await documents.contentJson(document, contextOf(request));
      // Bytes (wire.ts); the typed reply takes objects only, and bytes skip serialization.
      const body = documentReadBody(reply.compileSerializationSchema(DocumentSchema)(toDocument(document)), content);
      return (reply as FastifyReply).headers(validators).type('application/json; charset=utf-8').send(body);
    },
  );

  api.get(
    '/documents/:id/rendered',
    {
      preHandler: guard.requireUser,
      schema: {
        tags,
        ...SECURED,
        summary: 'A document as sanitized HTML: Markdown rendered, code highlighted in the language the parse job found',
        description:
          'The owner only. 409 CONFLICT while the parse job has not finished (retry later) and for a document it failed; 413 past MAX_RENDER_SIZE; 504 past RENDER_TIMEOUT_MS. Strong ETag (content, row version, renderer version): If-None-Match gets 304.',
        params: IdParams,
        response: { 200: RenderedDocumentSchema, 304: NoContent, ...errorResponses },
      },
    },
    async (request, reply) => {
      const gone = clientGone(reply);
      const document = await documents.find(authOf(request).user.id, request.params.id);
      // The language comes from the parse job: before it (or after it failed) there is nothing to render with.
      if (document.state === 'pending') throw new AppError('CONFLICT', 'The document is still being processed; try again shortly');
      if (document.state === 'failed') throw new AppError('CONFLICT', 'The document could not be processed, so it cannot be rendered');
      const etag = `"${document.sha256}.${document.updatedAt.getTime().toString(36)}.${render.versionTag}"`;
      const validators = { etag, 'cache-control': 'private, no-cache' };
      if (fresh(request.headers, { etag })) return reply.code(304).headers(validators).send();
      // Before the text is read (and, from the content cache, parsed back): a 413 costs nothing.
      render.assertFits(document.sizeBytes);
      const content = await documents.content(document, contextOf(request));
      const html =
        document.language === 'markdown' ? await render.markdown(content, gone) : await render.code(content, document.language, gone);
      return reply.headers(validators).send(toRenderedDocument(document, html));
    },
  );

  api.delete(
    '/documents/:id',
    {
      preHandler: guard.requireUser,
      schema: {
        tags,
        ...SECURED,
        summary: 'Delete a document (row and stored bytes)',
        params: IdParams,
        body: EmptyBody,
        response: { 204: NoContent, ...errorResponses },
      },
    },
    async (request, reply) => {
      await documents.delete(authOf(request).user.id, request.params.id);
      return reply.code(204).send();
    },
  );
}
