// Request and response schemas of the accounts API (snake_case on the wire).
import { Type } from '@sinclair/typebox';

export const UserSchema = Type.Object({
  id: Type.String({ format: 'uuid' }),
  email: Type.String(),
  display_name: Type.String(),
  role: Type.Union([Type.Literal('user'), Type.Literal('admin')]),
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
export const SessionParams = Type.Object({ id: Type.String({ format: 'uuid' }) });

/** OpenAPI: routes that need a session accept it as a bearer token or the session cookie. */
export const SECURED: { security: Array<Record<string, string[]>> } = { security: [{ bearer: [] }, { cookie: [] }] };
