// The error codes of DESIGN.md and the one envelope every error response uses.

export const ERROR_STATUS = {
  VALIDATION_FAILED: 400,
  PATH_NOT_ALLOWED: 400,
  UNAUTHENTICATED: 401,
  BAD_CREDENTIALS: 401,
  INACTIVE_ACCOUNT: 403,
  FORBIDDEN: 403,
  CSRF_REJECTED: 403,
  NOT_FOUND: 404,
  REQUEST_TIMEOUT: 408,
  CONFLICT: 409,
  ALREADY_VOTED: 409,
  POLL_CLOSED: 409,
  GONE: 410,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  RATE_LIMITED: 429,
  HEADERS_TOO_LARGE: 431,
  INTERNAL: 500,
  UNAVAILABLE: 503,
  NOT_READY: 503,
  TIMEOUT: 504,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

export interface ErrorDetail {
  path: string;
  message: string;
}

export interface ErrorEnvelope {
  error_code: ErrorCode;
  message: string;
  request_id: string;
  details?: ErrorDetail[];
}

/** An error a client may see: its code decides the status, its message is safe to show. */
export class AppError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly details: ErrorDetail[] | undefined;
  /** Extra response headers, e.g. Retry-After. */
  readonly headers: Record<string, string>;

  constructor(
    code: ErrorCode,
    message: string,
    options: { details?: ErrorDetail[]; headers?: Record<string, string>; cause?: unknown } = {},
  ) {
    super(message, { cause: options.cause });
    this.name = 'AppError';
    this.code = code;
    this.status = ERROR_STATUS[code];
    this.details = options.details;
    this.headers = options.headers ?? {};
  }
}

export function envelope(error: AppError, requestId: string): ErrorEnvelope {
  const body: ErrorEnvelope = { error_code: error.code, message: error.message, request_id: requestId };
  if (error.details !== undefined) body.details = error.details;
  return body;
}

/** A keyset cursor the API did not issue (or one tampered with). */
export function invalidCursorError(): AppError {
  return new AppError('VALIDATION_FAILED', 'Invalid cursor', {
    details: [{ path: 'query.cursor', message: 'is not a cursor from this API' }],
  });
}

/** JSON schema of the envelope, for route response declarations. */
export const errorEnvelopeSchema = {
  type: 'object',
  required: ['error_code', 'message', 'request_id'],
  properties: {
    error_code: { type: 'string' },
    message: { type: 'string' },
    request_id: { type: 'string' },
    details: {
      type: 'array',
      items: { type: 'object', properties: { path: { type: 'string' }, message: { type: 'string' } } },
    },
  },
} as const;

const CONNECTION_ERROR_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EHOSTUNREACH',
  '57P01', // admin_shutdown
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now
  '08000',
  '08001',
  '08003',
  '08004',
  '08006',
]);

/** True when an error (or one in its cause chain) means a dependency is unreachable. */
export function isDependencyUnavailable(error: unknown): boolean {
  let current: unknown = error;
  for (let depth = 0; current instanceof Error && depth < 5; depth += 1) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && CONNECTION_ERROR_CODES.has(code)) return true;
    if (
      // pg's client refuses every query after its connection died ("... and is not queryable").
      /Connection terminated|timeout exceeded when trying to connect|Stream isn't writeable|Connection is closed|is not queryable/i.test(
        current.message,
      )
    ) {
      return true;
    }
    const aggregate = current as { errors?: unknown[] };
    if (Array.isArray(aggregate.errors) && aggregate.errors.some(isDependencyUnavailable)) return true;
    current = current.cause;
  }
  return false;
}
