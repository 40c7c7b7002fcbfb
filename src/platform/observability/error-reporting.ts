// Error reporting to Sentry (@sentry/node) when SENTRY_DSN is set: 500s from requests and
// jobs' final failures, tagged with the request id, route template or job type, the account
// id and the release; a beforeSend scrubs secrets and emails. Unset: nothing is loaded.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';

export interface ErrorReporter {
  /** A request answered 500 (a bug): `route` is the template, never the raw URL. */
  requestFailed(error: unknown, context: { requestId: string; route: string | undefined; method: string; accountId?: string }): void;
  /** A job failed its last attempt. */
  jobFailed(error: unknown, context: { requestId: string; jobType: string; jobId: string }): void;
  /** Sends what is queued (at shutdown). */
  close(): Promise<void>;
}

export const noErrorReporter: ErrorReporter = {
  requestFailed() {},
  jobFailed() {},
  async close() {},
};

const SECRET_KEY = /pass(word)?|secret|token|cookie|authorization|session|api[-_]?key|credential/i;
const EMAIL = /[^\s@"'<>(),;:]+@[^\s@"'<>(),;:]+\.[a-z]{2,}/gi;

/** Replaces values under secret-looking keys and every email address, at any depth. */
export function scrub<T>(value: T, depth = 0): T {
  if (depth > 12) return value;
  if (typeof value === 'string') return value.replace(EMAIL, '[email]') as T;
  if (Array.isArray(value)) return value.map((item) => scrub(item, depth + 1)) as T;
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) out[key] = SECRET_KEY.test(key) ? '[Filtered]' : scrub(item, depth + 1);
    return out as T;
  }
  return value;
}

function packageVersion(): string {
  const manifest = JSON.parse(readFileSync(join(import.meta.dirname, '..', '..', '..', 'package.json'), 'utf8')) as { version: string };
  return manifest.version;
}

/** Loads and starts the SDK only with a DSN. Errors are captured explicitly (no auto-instrumentation). */
export async function createErrorReporter(options: {
  dsn: string | undefined;
  environment: string;
  logger: Logger;
}): Promise<ErrorReporter> {
  if (options.dsn === undefined) return noErrorReporter;
  const Sentry = await import('@sentry/node');
  const client = Sentry.init({
    dsn: options.dsn,
    release: `rampart@${packageVersion()}`,
    environment: options.environment,
    // No tracing, no OpenTelemetry, no global handlers: the error mapper and the job queue
    // decide what is an error (the worker's error boundary owns uncaught exceptions).
    defaultIntegrations: false,
    enableOpenTelemetrySetup: false,
    tracesSampleRate: 0,
    enableRuntimeChannelInjection: false,
    beforeSend: (event) => scrub(event),
  });
  options.logger.info({ release: `rampart@${packageVersion()}` }, 'error reporting to Sentry is on');
  return {
    requestFailed(error, context) {
      Sentry.captureException(error, {
        tags: { request_id: context.requestId, route: context.route ?? 'unmatched', method: context.method },
        user: context.accountId ? { id: context.accountId } : undefined,
      });
    },
    jobFailed(error, context) {
      Sentry.captureException(error, { tags: { request_id: context.requestId, job_type: context.jobType, job_id: context.jobId } });
    },
    async close() {
      await client?.close(2_000);
    },
  };
}
