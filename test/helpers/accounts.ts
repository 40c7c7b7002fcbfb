// Creates accounts and sessions through the public API, as a client would.
import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';

export const GOOD_PASSWORD = 'violet-otter-meadow-42';

export function uniqueEmail(label = 'user'): string {
  return `${label}-${randomBytes(4).toString('hex')}@example.test`;
}

export interface SignedIn {
  email: string;
  password: string;
  userId: string;
  token: string;
  cookie: string;
}

export async function registerAndLogin(app: FastifyInstance, options: { email?: string; password?: string } = {}): Promise<SignedIn> {
  const email = options.email ?? uniqueEmail();
  const password = options.password ?? GOOD_PASSWORD;
  const registered = await app.inject({ method: 'POST', url: '/api/v1/auth/register', payload: { email, password, display_name: 'Test' } });
  if (registered.statusCode !== 201) throw new Error(`register failed: ${registered.statusCode} ${registered.body}`);
  return login(app, email, password);
}

export async function login(app: FastifyInstance, email: string, password: string): Promise<SignedIn> {
  const response = await app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { email, password } });
  if (response.statusCode !== 200) throw new Error(`login failed: ${response.statusCode} ${response.body}`);
  const body = response.json();
  const cookie = response.cookies.find((item) => item.name === '__Host-rampart_session');
  return { email, password, userId: body.user.id, token: body.token, cookie: cookie?.value ?? '' };
}

export function bearer(token: string): Record<string, string> {
  return { authorization: `Bearer ${token}` };
}

export const randomToken = () => randomBytes(32).toString('base64url');
