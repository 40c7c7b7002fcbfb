// The WebSocket protocol of DESIGN.md ("Realtime"): reads a client's text frame into one
// of its three ops (or a protocol error a client can act on), writes the server's frames,
// and maps an unexpected failure to the error a client is told.
import type { FastifyBaseLogger } from 'fastify';
import { type ErrorCode, isDependencyUnavailable } from '../errors.ts';

export type ClientOp = { op: 'subscribe'; topic: string } | { op: 'unsubscribe'; topic: string } | { op: 'ping' };

export class ProtocolError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string) {
    super(message);
    this.name = 'ProtocolError';
    this.code = code;
  }
}

export const MAX_TOPIC_LENGTH = 200;
// Topics are names like `polls:<uuid>`: printable ASCII without spaces, so a topic can
// never smuggle a control character into a log line or a Redis message.
const TOPIC_PATTERN = /^[\x21-\x7e]+$/;

export function parseClientFrame(text: string): ClientOp {
  let message: unknown;
  try {
    message = JSON.parse(text);
  } catch (error) {
    if (error instanceof SyntaxError) throw new ProtocolError('VALIDATION_FAILED', 'Frames must be JSON objects with an "op"');
    throw error;
  }
  if (typeof message !== 'object' || message === null || Array.isArray(message)) {
    throw new ProtocolError('VALIDATION_FAILED', 'Frames must be JSON objects with an "op"');
  }
  const { op, topic } = message as { op?: unknown; topic?: unknown };
  if (op === 'ping') return { op };
  if (op === 'subscribe' || op === 'unsubscribe') {
    if (typeof topic !== 'string' || topic.length === 0 || topic.length > MAX_TOPIC_LENGTH || !TOPIC_PATTERN.test(topic)) {
      throw new ProtocolError(
        'VALIDATION_FAILED',
        `"topic" must be a topic name of printable ASCII, at most ${MAX_TOPIC_LENGTH} characters`,
      );
    }
    return { op, topic };
  }
  throw new ProtocolError('VALIDATION_FAILED', 'Unknown op: use "subscribe", "unsubscribe" or "ping"');
}

export function subscribedFrame(topic: string): string {
  return JSON.stringify({ op: 'subscribed', topic });
}

export function unsubscribedFrame(topic: string): string {
  return JSON.stringify({ op: 'unsubscribed', topic });
}

export const PONG_FRAME = '{"op":"pong"}';

/** `topic` names the subscription an error refuses, so a client can tell which one failed. */
export function errorFrame(code: ErrorCode, message: string, requestId: string, topic?: string): string {
  return JSON.stringify({ op: 'error', error_code: code, message, request_id: requestId, topic });
}

/** Close codes of DESIGN.md ("Realtime"). */
export const CLOSE = {
  SHUTDOWN: 1001,
  POLICY: 1008,
  TOO_BIG: 1009,
  OVERLOADED: 1013,
  SESSION_ENDED: 4401,
} as const;

/**
 * The socket side's one mapping of an unexpected failure, as the HTTP error handler's: logged
 * (a warning when a dependency is down, an error otherwise) and turned into what a client is
 * told. Rethrowing from a socket's event would take the whole process down instead.
 */
export function reportFailure(error: unknown, log: FastifyBaseLogger, what: string): { code: ErrorCode; message: string } {
  if (isDependencyUnavailable(error)) {
    log.warn({ err: error }, `${what}: a dependency is unavailable`);
    return { code: 'UNAVAILABLE', message: 'A dependency is unavailable; try again shortly' };
  }
  log.error({ err: error }, what);
  return { code: 'INTERNAL', message: 'Internal server error' };
}
