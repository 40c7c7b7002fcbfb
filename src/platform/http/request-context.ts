// The one request context services are given: who is calling from where, and the request's
// id and logger. Built here, in one place, from the Fastify request, and passed explicitly
// (no AsyncLocalStorage on the hot path: bench/edge.ts measured it).
import type { FastifyBaseLogger, FastifyRequest } from 'fastify';

export interface RequestContext {
  /** The request id (X-Request-ID): jobs this request enqueues carry it too. */
  requestId: string;
  /** The client's address, as TRUST_PROXY allows it to be known. */
  ip: string;
  userAgent: string | null;
  log: FastifyBaseLogger;
}

const accounts = new WeakMap<FastifyRequest, string>();

/** The auth guard says whose request this is, so error reports carry the account id (never the email). */
export function setRequestAccount(request: FastifyRequest, accountId: string): void {
  accounts.set(request, accountId);
}

export function requestAccount(request: FastifyRequest): string | undefined {
  return accounts.get(request);
}

export function contextOf(request: FastifyRequest): RequestContext {
  return { requestId: request.id, ip: request.ip, userAgent: request.headers['user-agent'] ?? null, log: request.log };
}
