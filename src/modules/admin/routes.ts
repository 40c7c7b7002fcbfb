// Admin API for accounts: list users, (de)activate them, change roles. Admin role only.
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { contextOf } from '../../platform/http/request-context.ts';
import { errorResponses, IdParams, NextCursor, PageQuery, RoleSchema } from '../../platform/http/schemas.ts';
import { authOf, type Guard } from '../auth/guard.ts';
import type { AuthService } from '../auth/service.ts';
import { SECURED, toUser, UserSchema } from '../auth/wire.ts';

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
        querystring: Type.Object(PageQuery(200, 50), { additionalProperties: false }),
        response: {
          200: Type.Object({ users: Type.Array(UserSchema), next_cursor: NextCursor }),
          ...errorResponses,
        },
      },
    },
    async (request) => {
      const { users, nextCursor } = await auth.listUsers(request.query.limit, request.query.cursor);
      return { users: users.map(toUser), next_cursor: nextCursor };
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
        params: IdParams,
        body: Type.Object(
          { active: Type.Optional(Type.Boolean()), role: Type.Optional(RoleSchema) },
          { additionalProperties: false, minProperties: 1 },
        ),
        response: { 200: Type.Object({ user: UserSchema }), ...errorResponses },
      },
    },
    async (request) => ({ user: toUser(await auth.updateUser(authOf(request), request.params.id, request.body, contextOf(request))) }),
  );
}
