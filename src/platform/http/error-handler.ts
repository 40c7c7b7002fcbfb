// Maps every failure (ours, Fastify's, a driver's) onto the one error envelope,
// once, here. 5xx bodies say nothing internal; the full error goes to the log.
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AppError, type ErrorCode, type ErrorDetail, envelope, isDependencyUnavailable } from '../errors.ts';
import { ClientGoneError } from './client-gone.ts';

/** Nobody receives it, and such a request never reaches onResponse: the status is nginx's convention, for the log line. */
const CLIENT_CLOSED_REQUEST = 499;

interface ValidationIssue {
  instancePath: string;
  message?: string;
  params?: Record<string, unknown>;
}

// Fastify says "querystring"; clients, and our own details (query.cursor), say "query".
const PART_NAMES: Record<string, string> = { querystring: 'query' };

function validationDetails(error: FastifyError): ErrorDetail[] {
  const part = error.validationContext ?? 'body';
  const context = PART_NAMES[part] ?? part;
  return ((error.validation ?? []) as ValidationIssue[]).map((issue) => {
    const segments = issue.instancePath.split('/').filter(Boolean);
    const extra = issue.params?.missingProperty ?? issue.params?.additionalProperty;
    if (typeof extra === 'string') segments.push(extra);
    const message = issue.params?.additionalProperty ? 'is not allowed' : (issue.message ?? 'is invalid');
    return { path: [context, ...segments].join('.'), message };
  });
}

const STATUS_CODES: Record<number, ErrorCode> = {
  400: 'VALIDATION_FAILED',
  401: 'UNAUTHENTICATED',
  403: 'FORBIDDEN',
  404: 'NOT_FOUND',
  405: 'NOT_FOUND',
  409: 'CONFLICT',
  413: 'PAYLOAD_TOO_LARGE',
  415: 'UNSUPPORTED_MEDIA_TYPE',
  429: 'RATE_LIMITED',
  503: 'UNAVAILABLE',
  504: 'TIMEOUT',
};

/** Turns anything thrown into an AppError; undefined means "a bug: answer 500". */
export function toAppError(error: unknown): AppError | undefined {
  if (error instanceof AppError) return error;
  const fastifyError = error as FastifyError;
  if (fastifyError.validation) {
    return new AppError('VALIDATION_FAILED', 'The request did not match the schema', { details: validationDetails(fastifyError) });
  }
  if (isDependencyUnavailable(error)) {
    return new AppError('UNAVAILABLE', 'A dependency is unavailable; try again shortly', { headers: { 'retry-after': '5' } });
  }
  const status = fastifyError.statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    const code = STATUS_CODES[status] ?? 'VALIDATION_FAILED';
    // Fastify's own 4xx messages describe the request (bad JSON, too large), never internals.
    return new AppError(code, fastifyError.message || code);
  }
  if (status === 503) return new AppError('UNAVAILABLE', 'Service is overloaded; try again shortly', { headers: { 'retry-after': '5' } });
  return undefined;
}

export function sendError(request: FastifyRequest, reply: FastifyReply, error: unknown): FastifyReply {
  if (error instanceof ClientGoneError) {
    request.log.info({ err: error }, 'client went away; its work was dropped');
    return reply.code(CLIENT_CLOSED_REQUEST).send();
  }
  const appError = toAppError(error);
  if (appError === undefined) {
    request.log.error({ err: error }, 'unhandled error');
    const internal = new AppError('INTERNAL', 'Internal server error');
    return reply.code(500).type('application/json').send(envelope(internal, request.id));
  }
  if (appError.status >= 500) request.log.warn({ err: error }, appError.message);
  else request.log.info({ error_code: appError.code }, appError.message);
  reply.headers(appError.headers);
  return reply.code(appError.status).type('application/json').send(envelope(appError, request.id));
}

/**
 * `onInternalError` hears of every error answered 500 (a bug), e.g. to report it;
 * `appShell` answers the paths that belong to the web UI's router (see web-ui.ts).
 */
export function registerErrorHandling(
  app: FastifyInstance,
  legacyApi: 'redirect' | 'gone',
  onInternalError: (error: unknown, request: FastifyRequest) => void = () => {},
  appShell?: (request: FastifyRequest, reply: FastifyReply) => FastifyReply | undefined,
): void {
  app.setErrorHandler((error, request, reply) => {
    if (!(error instanceof ClientGoneError) && toAppError(error) === undefined) onInternalError(error, request);
    return sendError(request, reply, error);
  });
  app.setNotFoundHandler((request, reply) => {
    const url = request.raw.url ?? '/';
    const isLegacyApi = (url === '/api' || url.startsWith('/api/') || url.startsWith('/api?')) && !/^\/api\/v1(\/|\?|$)/.test(url);
    if (isLegacyApi) {
      if (legacyApi === 'gone') {
        return sendError(request, reply, new AppError('GONE', 'Unversioned API paths are gone; use /api/v1'));
      }
      return reply.redirect(url.replace(/^\/api/, '/api/v1'), 301);
    }
    const page = appShell?.(request, reply);
    if (page) return page;
    return sendError(request, reply, new AppError('NOT_FOUND', `No route for ${request.method} ${request.url.split('?')[0]}`));
  });
}
