// OpenAPI document of the /api/v1 routes only, and the docs page that renders it.
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import { RAW_TEXT } from './schemas.ts';

export const API_PREFIX = '/api/v1';

export async function registerOpenApi(app: FastifyInstance): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Rampart API',
        version: '1.0.0',
        description: [
          'Production-hardened backend service.',
          '',
          'Request rules beyond each schema (400 VALIDATION_FAILED, `details` naming the field): no string in a body,',
          'query or path may hold NUL (U+0000) or an unpaired UTF-16 surrogate, except strings marked',
          `\`${RAW_TEXT}: true\`; numbers must be finite. JSON bodies are never coerced (\`"5"\` is not a number,`,
          '`["a"]` is not a string); query and path values are read from their text.',
        ].join('\n'),
      },
      components: {
        securitySchemes: {
          bearer: { type: 'http', scheme: 'bearer' },
          cookie: { type: 'apiKey', in: 'cookie', name: '__Host-rampart_session' },
        },
      },
    },
    // Operational routes (/health, /metrics, docs assets) are not part of the API contract.
    transform: ({ schema, url }) => ({
      schema: url.startsWith(`${API_PREFIX}/`) && !url.startsWith(`${API_PREFIX}/docs`) ? schema : { ...schema, hide: true },
      url,
    }),
  });
  await app.register(swaggerUi, {
    routePrefix: `${API_PREFIX}/docs`,
    staticCSP: true,
    // Our CSP, loosened only by what the docs page needs (its inline styles and data: images).
    transformStaticCSP: () =>
      "default-src 'self'; object-src 'none'; frame-ancestors 'none'; form-action 'self'; base-uri 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'",
    uiConfig: { validatorUrl: null },
  });
  app.get(`${API_PREFIX}/openapi.json`, { schema: { hide: true } }, async () => app.swagger());
}
