// The accounts API on the wire: request and response schemas (snake_case), their types,
// and the mappings from the service's rows.
import { type Static, Type } from '@sinclair/typebox';
import { RoleSchema } from '../../platform/http/schemas.ts';
import { type SessionRow, sessionExpiry, type UserRow } from './repo.ts';

export const UserSchema = Type.Object({
  id: Type.String({ format: 'uuid' }),
  email: Type.String(),
  display_name: Type.String(),
  role: RoleSchema,
  active: Type.Boolean(),
  created_at: Type.String({ format: 'date-time' }),
});

export const SessionSchema = Type.Object({
  id: Type.String({ format: 'uuid' }),
  created_at: Type.String({ format: 'date-time' }),
  last_seen_at: Type.String({ format: 'date-time' }),
  expires_at: Type.String({ format: 'date-time' }),
  ip: Type.Union([Type.String(), Type.Null()]),
  user_agent: Type.Union([Type.String(), Type.Null()]),
  current: Type.Boolean(),
});

const Email = Type.String({ minLength: 3, maxLength: 254, pattern: '^[^\\s@]+@[^\\s@]+$' });
// Length policy (code points, common list) is checked by the service with a precise message.
const Password = Type.String({ maxLength: 1024 });

export const RegisterBody = Type.Object(
  { email: Email, password: Password, display_name: Type.String({ minLength: 1, maxLength: 100 }) },
  { additionalProperties: false },
);
export const LoginBody = Type.Object({ email: Type.String({ maxLength: 254 }), password: Password }, { additionalProperties: false });
export const PasswordChangeBody = Type.Object({ current_password: Password, new_password: Password }, { additionalProperties: false });

/** OpenAPI: routes that need a session accept it as a bearer token or the session cookie. */
export const SECURED: { security: Array<Record<string, string[]>> } = { security: [{ bearer: [] }, { cookie: [] }] };

export type User = Static<typeof UserSchema>;
export type Session = Static<typeof SessionSchema>;

/** An account as its owner and admins see it: never the password hash or the email skeleton. */
export function toUser(user: UserRow): User {
  return {
    id: user.id,
    email: user.email,
    display_name: user.displayName,
    role: user.role,
    active: user.active,
    created_at: user.createdAt.toISOString(),
  };
}

/** A session as its owner sees it; `currentId` marks the one making the request. */
export function toSession(session: SessionRow, currentId: string): Session {
  return {
    id: session.id,
    created_at: session.createdAt.toISOString(),
    last_seen_at: session.lastSeenAt.toISOString(),
    expires_at: sessionExpiry(session).toISOString(),
    ip: session.ip,
    user_agent: session.userAgent,
    current: session.id === currentId,
  };
}
