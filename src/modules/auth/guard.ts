// Who is calling: reads the session token from `Authorization: Bearer` or the session
// cookie (set and cleared here too), enforces the CSRF origin rule for cookie-authenticated
// writes, and guards routes by role.
import type { FastifyReply, FastifyRequest, preHandlerAsyncHookHandler } from 'fastify';
import { AppError } from '../../platform/errors.ts';
import { setRequestAccount } from '../../platform/http/request-context.ts';
import type { Authenticated, AuthService } from './service.ts';

export const SESSION_COOKIE = '__Host-rampart_session';
const UNSAFE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
// Secure in every environment: browsers drop a __Host- cookie without it, and they treat
// http://localhost as a secure context, so development over plain http still works there.
const COOKIE_OPTIONS = { path: '/', httpOnly: true, sameSite: 'lax', secure: true } as const;

export function setSessionCookie(reply: FastifyReply, token: string, expires: Date): void {
  reply.setCookie(SESSION_COOKIE, token, { ...COOKIE_OPTIONS, expires });
}

export function clearSessionCookie(reply: FastifyReply): void {
  reply.clearCookie(SESSION_COOKIE, COOKIE_OPTIONS);
}

const authenticated = new WeakMap<FastifyRequest, Authenticated>();

/** The caller of a guarded route (only valid after requireUser ran). */
export function authOf(request: FastifyRequest): Authenticated {
  const auth = authenticated.get(request);
  if (!auth) throw new Error('authOf called on a route without requireUser');
  return auth;
}

function bearerToken(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  if (!header) return undefined;
  const match = /^Bearer\s+(\S+)$/i.exec(header);
  if (!match) throw new AppError('UNAUTHENTICATED', 'Authorization header must be "Bearer <token>"');
  return match[1];
}

function fromAllowedOrigin(request: FastifyRequest, allowedOrigins: readonly string[]): boolean {
  const origin = request.headers.origin;
  return origin !== undefined && (origin === `${request.protocol}://${request.host}` || allowedOrigins.includes(origin));
}

/** Cookies are sent by browsers on their own, so a cookie-authenticated write must prove it came from an allowed page. */
function assertSameSiteWrite(request: FastifyRequest, allowedOrigins: readonly string[]): void {
  if (!UNSAFE_METHODS.has(request.method)) return;
  if (request.headers['sec-fetch-site'] === 'same-origin') return;
  if (fromAllowedOrigin(request, allowedOrigins)) return;
  throw new AppError('CSRF_REJECTED', 'Cross-site request rejected: cookie-authenticated writes need an allowed Origin');
}

export interface Guard {
  /** Resolves the caller if a token is present; never rejects anonymous requests. */
  identify(request: FastifyRequest): Promise<Authenticated | undefined>;
  requireUser: preHandlerAsyncHookHandler;
  requireAdmin: preHandlerAsyncHookHandler;
  /**
   * The caller of a WebSocket upgrade. A browser sends the cookie with an upgrade from any
   * page (a GET, so SameSite=Lax does not stop it): a cookie-authenticated upgrade must
   * come from an allowed Origin, or any site could open a socket as its visitor.
   */
  identifyUpgrade(request: FastifyRequest): Promise<Authenticated>;
}

export function createGuard(auth: AuthService, allowedOrigins: readonly string[]): Guard {
  async function identify(request: FastifyRequest): Promise<Authenticated | undefined> {
    const cached = authenticated.get(request);
    if (cached) return cached;
    const bearer = bearerToken(request);
    const cookie =
      bearer === undefined && request.headers.cookie ? request.server.parseCookie(request.headers.cookie)[SESSION_COOKIE] : undefined;
    const token = bearer ?? cookie;
    if (!token) return undefined;
    const result = await auth.authenticate(token);
    if (!result) throw new AppError('UNAUTHENTICATED', 'Session is missing, expired or revoked');
    if (cookie !== undefined) assertSameSiteWrite(request, allowedOrigins);
    authenticated.set(request, result);
    setRequestAccount(request, result.user.id);
    return result;
  }

  async function requireUser(request: FastifyRequest, reply: FastifyReply): Promise<void> {
    const result = await identify(request);
    if (!result) throw new AppError('UNAUTHENTICATED', 'Sign in first');
    // Authenticated answers are per-user: no shared cache may keep them.
    reply.header('cache-control', 'no-store');
  }

  async function requireAdmin(request: FastifyRequest, reply: FastifyReply): Promise<void> {
    await requireUser(request, reply);
    if (authOf(request).user.role !== 'admin') throw new AppError('FORBIDDEN', 'Admin role required');
  }

  async function identifyUpgrade(request: FastifyRequest): Promise<Authenticated> {
    const result = await identify(request);
    if (!result) throw new AppError('UNAUTHENTICATED', 'Sign in first: send the session cookie or "Authorization: Bearer <token>"');
    if (bearerToken(request) === undefined && !fromAllowedOrigin(request, allowedOrigins)) {
      throw new AppError('CSRF_REJECTED', 'Cross-site WebSocket rejected: a cookie-authenticated upgrade needs an allowed Origin');
    }
    return result;
  }

  return { identify, requireUser, requireAdmin, identifyUpgrade };
}
