// HTTP routes of the accounts module under /api/v1/auth.
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { contextOf } from '../../platform/http/request-context.ts';
import { EmptyBody, errorResponses, IdParams, NoContent } from '../../platform/http/schemas.ts';
import { authOf, clearSessionCookie, type Guard, setSessionCookie } from './guard.ts';
import { sessionExpiry } from './repo.ts';
import type { AuthService } from './service.ts';
import { LoginBody, PasswordChangeBody, RegisterBody, SECURED, SessionSchema, toSession, toUser, UserSchema } from './wire.ts';

export async function registerAuthRoutes(app: FastifyInstance, auth: AuthService, guard: Guard): Promise<void> {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();
  const tags = ['auth'];

  api.post(
    '/auth/register',
    {
      config: { rateLimit: 'auth' },
      schema: {
        tags,
        summary: 'Create an account',
        body: RegisterBody,
        response: { 201: Type.Object({ user: UserSchema }), ...errorResponses },
      },
    },
    async (request, reply) => {
      const { email, password, display_name } = request.body;
      const user = await auth.register({ email, password, displayName: display_name }, contextOf(request));
      return reply.code(201).send({ user: toUser(user) });
    },
  );

  api.post(
    '/auth/login',
    {
      config: { rateLimit: 'auth' },
      schema: {
        tags,
        summary: 'Sign in; returns a bearer token and sets the session cookie',
        body: LoginBody,
        response: {
          200: Type.Object({ user: UserSchema, token: Type.String(), expires_at: Type.String({ format: 'date-time' }) }),
          ...errorResponses,
        },
      },
    },
    async (request, reply) => {
      const { user, token, session } = await auth.login(request.body, contextOf(request));
      setSessionCookie(reply, token, session.absoluteExpiresAt);
      reply.header('cache-control', 'no-store');
      return { user: toUser(user), token, expires_at: sessionExpiry(session).toISOString() };
    },
  );

  api.post(
    '/auth/logout',
    {
      preHandler: guard.requireUser,
      schema: { tags, ...SECURED, summary: 'End this session', body: EmptyBody, response: { 204: NoContent, ...errorResponses } },
    },
    async (request, reply) => {
      await auth.logout(authOf(request).session);
      clearSessionCookie(reply);
      return reply.code(204).send();
    },
  );

  api.get(
    '/auth/me',
    {
      preHandler: guard.requireUser,
      schema: { tags, ...SECURED, summary: 'The signed-in user', response: { 200: Type.Object({ user: UserSchema }), ...errorResponses } },
    },
    async (request) => ({ user: toUser(authOf(request).user) }),
  );

  api.get(
    '/auth/sessions',
    {
      preHandler: guard.requireUser,
      schema: {
        tags,
        ...SECURED,
        summary: 'My active sessions',
        response: { 200: Type.Object({ sessions: Type.Array(SessionSchema) }), ...errorResponses },
      },
    },
    async (request) => {
      const caller = authOf(request);
      return { sessions: (await auth.listSessions(caller)).map((session) => toSession(session, caller.session.id)) };
    },
  );

  api.delete(
    '/auth/sessions/:id',
    {
      preHandler: guard.requireUser,
      schema: {
        tags,
        ...SECURED,
        summary: 'Revoke one of my sessions',
        params: IdParams,
        response: { 204: NoContent, ...errorResponses },
      },
    },
    async (request, reply) => {
      const caller = authOf(request);
      await auth.revokeSession(caller, request.params.id, contextOf(request));
      if (request.params.id === caller.session.id) clearSessionCookie(reply);
      return reply.code(204).send();
    },
  );

  api.post(
    '/auth/sessions/revoke-others',
    {
      preHandler: guard.requireUser,
      schema: {
        tags,
        ...SECURED,
        summary: 'Revoke all my other sessions',
        body: EmptyBody,
        response: { 200: Type.Object({ revoked: Type.Integer() }), ...errorResponses },
      },
    },
    async (request) => ({ revoked: await auth.revokeOtherSessions(authOf(request), contextOf(request)) }),
  );

  api.post(
    '/auth/password',
    {
      preHandler: guard.requireUser,
      schema: {
        tags,
        ...SECURED,
        summary: 'Change my password (revokes my other sessions)',
        body: PasswordChangeBody,
        response: { 200: Type.Object({ revoked_sessions: Type.Integer() }), ...errorResponses },
      },
    },
    async (request) => {
      const revoked = await auth.changePassword(
        authOf(request),
        { currentPassword: request.body.current_password, newPassword: request.body.new_password },
        contextOf(request),
      );
      return { revoked_sessions: revoked };
    },
  );
}
