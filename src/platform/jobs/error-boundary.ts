// The worker's error boundary: a job handler that fails in any way (a throw, a rejected
// promise, or an error thrown later from one of its callbacks: a stream 'error' event
// with no listener, a throw in a timer) fails that job and never takes the process down.
// Errors thrown from callbacks escape every try/catch; the async context they were
// created in (AsyncLocalStorage, one run per job, never per request) says which job
// they belong to.
import { AsyncLocalStorage } from 'node:async_hooks';
import type { Logger } from 'pino';

interface JobScope {
  fail(error: unknown): void;
}

export class JobErrorBoundary {
  readonly #scopes = new AsyncLocalStorage<JobScope>();
  readonly #logger: Logger;
  #installed = false;

  constructor(logger: Logger) {
    this.#logger = logger;
  }

  readonly #onUncaught = (error: Error): void => {
    const scope = this.#scopes.getStore();
    if (scope) {
      scope.fail(error);
      return;
    }
    // Not a job's: Node's own behaviour (report and exit), unless another listener (a test
    // runner, an error tracker) has taken responsibility for it.
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

  /** Runs a handler; rejects with its error, or with the first error thrown later from its callbacks. */
  run<T>(handler: () => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      let settled = false;
      const scope: JobScope = {
        fail: (error) => {
          if (settled) {
            this.#logger.debug({ err: error }, 'a job that already has its outcome failed again');
            return;
          }
          settled = true;
          reject(error);
        },
      };
      this.#scopes.run(scope, () => {
        // A handler that throws synchronously rejects like any other.
        new Promise<T>((start) => start(handler())).then(
          (value) => {
            if (settled) return;
            settled = true;
            resolve(value);
          },
          (error: unknown) => scope.fail(error),
        );
      });
    });
  }
}
