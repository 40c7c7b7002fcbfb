// The route of the `rampart render` service: POST /internal/render, for the API processes
// only (Bearer RENDER_TOKEN, compared in constant time); no per-IP limit, since its one client is the API.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { AppError } from '../../platform/errors.ts';
import { clientGone } from '../../platform/http/client-gone.ts';
import { errorResponses, RawText } from '../../platform/http/schemas.ts';
import type { RenderService } from './service.ts';
import { RenderedSchema, toRendered } from './wire.ts';

// Raw text: the API already applied its rules to the Markdown it was sent, and a document's text is its bytes.
const InternalRenderBody = Type.Union([
  Type.Object({ kind: Type.Literal('markdown'), text: RawText() }, { additionalProperties: false }),
  Type.Object(
    { kind: Type.Literal('code'), text: RawText(), language: Type.Union([Type.String({ maxLength: 64 }), Type.Null()]) },
    { additionalProperties: false },
  ),
]);

const digest = (value: string) => createHash('sha256').update(value).digest();

/** A preHandler admitting only `Authorization: Bearer <token>`, compared in constant time (digests of equal length). */
export function requireToken(token: string) {
  const expected = digest(token);
  return async (request: FastifyRequest) => {
    const header = request.headers.authorization ?? '';
    const presented = header.startsWith('Bearer ') ? header.slice('Bearer '.length) : '';
    if (!timingSafeEqual(digest(presented), expected)) throw new AppError('UNAUTHENTICATED', 'A valid render service token is required');
  };
}

export async function registerInternalRenderRoutes(app: FastifyInstance, render: RenderService, token: string, maxBytes: number) {
  app.addHook('onClose', async () => render.close());
  const api = app.withTypeProvider<TypeBoxTypeProvider>();
  api.post(
    '/internal/render',
    {
      preHandler: requireToken(token),
      // JSON escaping can make text up to six times longer; the service checks the real size (413).
      bodyLimit: maxBytes * 6 + 1024,
      config: { rateLimit: false, timeBudget: 'read' as const },
      schema: {
        tags: ['render service'],
        security: [{ bearer: [] }],
        summary: 'Render a task for an API process (the `rampart render` service)',
        body: InternalRenderBody,
        response: { 200: RenderedSchema, ...errorResponses },
      },
    },
    // The API abandons a call at RENDER_REMOTE_TIMEOUT_MS and renders it itself: one still waiting here is dropped.
    async (request, reply) => toRendered(await render.render(request.body, clientGone(reply))),
  );
}
