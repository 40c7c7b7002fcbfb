// The worker's error boundary: a job handler that fails in any way (a throw, a rejected
// promise, or an error thrown later from one of its callbacks: a stream 'error' event
// with no listener, a throw in a timer) fails that job and never takes the process down.
// Errors thrown from callbacks escape every try/catch; the async context they were
// created in (AsyncLocalStorage, one run per job, never per request) says which job
// they belong to.
import { AsyncLocalStorage } from 'node:async_hooks';
import type { Logger } from 'pino';

interface JobScope {
  /** False when the job had completed: an error after that is nobody's to absorb. */
  fail(error: unknown): boolean;
}

export class JobErrorBoundary {
  readonly #scopes = new AsyncLocalStorage<JobScope>();
  readonly #logger: Logger;
  #installed = false;

  constructor(logger: Logger) {
    this.#logger = logger;
  }

  readonly #onUncaught = (error: Error): void => {
    // Async resources a job created keep its scope after it ends (a pooled connection, a
    // timer): an error there after the job completed is not the job's to absorb.
    if (this.#scopes.getStore()?.fail(error)) return;
    // Not a running job's: Node's own behaviour (report and exit), unless another listener
    // (a test runner; an error tracker, whose own handler must then exit) owns it.
    if (process.listenerCount('uncaughtException') > 1) return;
    this.#logger.fatal({ err: error }, 'uncaught exception outside any job; exiting');
    process.exit(1);
  };

  /** Starts catching; while installed, uncaught errors of a job fail that job. */
  install(): void {
    if (this.#installed) return;
    this.#installed = true;
    process.on('uncaughtException', this.#onUncaught);
  }

  uninstall(): void {
    if (!this.#installed) return;
    this.#installed = false;
    process.off('uncaughtException', this.#onUncaught);
  }

  /**
   * Runs a handler; rejects with its error, or with the first error thrown later from its
   * callbacks, and then aborts the signal the handler was given.
   */
  run<T>(handler: (signal: AbortSignal) => Promise<T>): Promise<T> {
    const abort = new AbortController();
    return new Promise<T>((resolve, reject) => {
      let state: 'running' | 'failed' | 'completed' = 'running';
      const scope: JobScope = {
        fail: (error) => {
          if (state === 'completed') return false;
          if (state === 'failed') {
            // The same broken job failing again (a stream's next chunk): already reported.
            this.#logger.warn({ err: error }, 'a failed job raised another error');
            return true;
          }
          state = 'failed';
          reject(error);
          abort.abort(error);
          return true;
        },
      };
      this.#scopes.run(scope, () => {
        // A handler that throws synchronously rejects like any other.
        new Promise<T>((start) => start(handler(abort.signal))).then(
          (value) => {
            if (state !== 'running') return;
            state = 'completed';
            resolve(value);
          },
          (error: unknown) => {
            // A rejection after an uncaught error already failed the job is the same failure.
            scope.fail(error);
          },
        );
      });
    });
  }
}
