// Pino options shared by every role: secrets are redacted, and database errors lose their
// parameters, before a line is written.
import type { DestinationStream, LoggerOptions } from 'pino';
import pino from 'pino';
import type { LogLevel } from '../../config.ts';
import { serializeError } from './error-serializer.ts';

export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'res.headers["set-cookie"]',
  '*.password',
  '*.current_password',
  '*.new_password',
  '*.token',
  '*.password_hash',
];

export function loggerOptions(level: LogLevel): LoggerOptions {
  return {
    level,
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    // Every error is logged under `err` (house rule), so this one serializer covers them all.
    serializers: { err: serializeError },
    base: { pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
}

export function createLogger(level: LogLevel, destination?: DestinationStream): pino.Logger {
  return destination ? pino(loggerOptions(level), destination) : pino(loggerOptions(level));
}
