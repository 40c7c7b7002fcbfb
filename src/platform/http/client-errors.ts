// Answers requests Node rejects before Fastify sees them (malformed HTTP, slow
// clients, oversized headers) in the same envelope, written straight to the socket.
import { randomUUID } from 'node:crypto';
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyBaseLogger } from 'fastify';
import { AppError, envelope } from '../errors.ts';

// The subset of our security headers that still matters on a bare error response.
const RAW_RESPONSE_HEADERS = [
  "Content-Security-Policy: default-src 'self'; object-src 'none'; frame-ancestors 'none'; form-action 'self'; base-uri 'self'",
  'X-Content-Type-Options: nosniff',
  'X-Frame-Options: DENY',
  'Cache-Control: no-store',
  'Connection: close',
];

function errorFor(code: string | undefined): AppError {
  if (code === 'ERR_HTTP_REQUEST_TIMEOUT') return new AppError('REQUEST_TIMEOUT', 'The request did not arrive in time');
  if (code === 'HPE_HEADER_OVERFLOW') return new AppError('HEADERS_TOO_LARGE', 'Request headers are too large');
  return new AppError('VALIDATION_FAILED', 'Malformed HTTP request');
}

export function createClientErrorHandler(logger: FastifyBaseLogger) {
  return (error: Error & { code?: string }, socket: Socket): void => {
    if (error.code === 'ECONNRESET' || socket.destroyed) return;
    const requestId = randomUUID();
    const appError = errorFor(error.code);
    logger.info({ request_id: requestId, code: error.code, error_code: appError.code }, 'client error');
    if (socket.writable) {
      const body = JSON.stringify(envelope(appError, requestId));
      const head = [
        `HTTP/1.1 ${appError.status} ${STATUS_CODES[appError.status]}`,
        'Content-Type: application/json; charset=utf-8',
        `Content-Length: ${Buffer.byteLength(body)}`,
        `X-Request-ID: ${requestId}`,
        ...RAW_RESPONSE_HEADERS,
      ];
      socket.write(`${head.join('\r\n')}\r\n\r\n${body}`);
    }
    socket.destroy(error);
  };
}
