// HTTP routes of the render module: POST /render, for signed-in users.
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { clientGone } from '../../platform/http/client-gone.ts';
import { errorResponses } from '../../platform/http/schemas.ts';
import type { Guard } from '../auth/guard.ts';
import { SECURED } from '../auth/wire.ts';
import type { RenderService } from './service.ts';
import { RenderBody, RenderedSchema, toRendered } from './wire.ts';

export async function registerRenderRoutes(app: FastifyInstance, render: RenderService, guard: Guard): Promise<void> {
  // The pool's threads end with the app (they exist only once something was rendered).
  app.addHook('onClose', async () => render.close());
  const api = app.withTypeProvider<TypeBoxTypeProvider>();
  api.post(
    '/render',
    {
      preHandler: guard.requireUser,
      // It changes nothing: the read time budget (the per-IP write limit still counts it, being a POST).
      config: { timeBudget: 'read' as const },
      schema: {
        tags: ['render'],
        ...SECURED,
        summary: 'Render Markdown to sanitized, highlighted HTML',
        description:
          'Raw HTML is shown as text; fenced code in a listed language is highlighted with classes (themes.css); the output is sanitized with an allowlist. 413 past MAX_RENDER_SIZE, 504 past RENDER_TIMEOUT_MS.',
        body: RenderBody,
        response: { 200: RenderedSchema, ...errorResponses },
      },
    },
    async (request, reply) => toRendered(await render.markdown(request.body.markdown, clientGone(reply))),
  );
}
