// Admin API for accounts: list users, (de)activate them, change roles. Admin role only.
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { errorResponses, PageLimit } from '../../platform/http/schemas.ts';
import { authOf, type Guard } from '../auth/guard.ts';
import type { AuthService } from '../auth/service.ts';
import { SECURED, UserSchema } from '../auth/wire.ts';

export async function registerAdminUserRoutes(app: FastifyInstance, auth: AuthService, guard: Guard): Promise<void> {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();
  const tags = ['admin'];

  api.get(
    '/admin/users',
    {
      preHandler: guard.requireAdmin,
      schema: {
        tags,
        ...SECURED,
        summary: 'List users, oldest first (keyset paged)',
        querystring: Type.Object(
          { limit: PageLimit(200, 50), cursor: Type.Optional(Type.String({ maxLength: 200 })) },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({ users: Type.Array(UserSchema), next_cursor: Type.Union([Type.String(), Type.Null()]) }),
          ...errorResponses,
        },
      },
    },
    async (request) => {
      const { users, nextCursor } = await auth.listUsers(request.query.limit, request.query.cursor);
      return { users, next_cursor: nextCursor };
    },
  );

  api.patch(
    '/admin/users/:id',
    {
      preHandler: guard.requireAdmin,
      schema: {
        tags,
        ...SECURED,
        summary: 'Deactivate, reactivate or change the role of a user',
        params: Type.Object({ id: Type.String({ format: 'uuid' }) }),
        body: Type.Object(
          { active: Type.Optional(Type.Boolean()), role: Type.Optional(Type.Union([Type.Literal('user'), Type.Literal('admin')])) },
          { additionalProperties: false, minProperties: 1 },
        ),
        response: { 200: Type.Object({ user: UserSchema }), ...errorResponses },
      },
    },
    async (request) => ({ user: await auth.updateUser(authOf(request), request.params.id, request.body, request.log) }),
  );
}
