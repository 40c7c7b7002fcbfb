// The render worker pool (piscina): renders off the event loop, each task under a time
// limit; a task past it has its worker terminated (piscina replaces it) and answers TIMEOUT.
import { availableParallelism } from 'node:os';
import { Piscina } from 'piscina';
import { AppError } from '../../platform/errors.ts';
import type { RenderTask } from './renderer.ts';

const WORKER = new URL('./worker.ts', import.meta.url).href;

/** Threads for a machine: every core (the work is CPU-bound; the event loop mostly waits). */
export function poolSizeFor(configured: number): number {
  return configured > 0 ? configured : Math.max(1, availableParallelism());
}

export class RenderPool {
  readonly #threads: number;
  readonly #timeoutMs: number;
  // Made on the first render, so building the module starts no thread.
  #pool: Piscina<RenderTask, string> | undefined;

  constructor(options: { threads: number; timeoutMs: number }) {
    this.#threads = poolSizeFor(options.threads);
    this.#timeoutMs = options.timeoutMs;
  }

  get threads(): number {
    return this.#threads;
  }

  /** The HTML of a task; 504 TIMEOUT past the time limit (the worker that ran it is replaced). */
  async run(task: RenderTask, timeoutMs = this.#timeoutMs): Promise<string> {
    this.#pool ??= new Piscina<RenderTask, string>({
      filename: WORKER,
      minThreads: this.#threads,
      maxThreads: this.#threads,
      idleTimeout: 60_000,
    });
    // The limit counts from submission: a task waiting behind others spends it too, so a
    // flood of slow inputs is refused rather than queued without bound.
    // A timer cleared on completion, not AbortSignal.timeout: that one fires for every render
    // after its limit, done or not, and builds a DOMException each time (2.6 % of the API's
    // busy time in a profile of the render bench's cold run).
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), timeoutMs);
    try {
      return await this.#pool.run(task, { signal: controller.signal });
    } catch (error) {
      if (controller.signal.aborted) throw new AppError('TIMEOUT', `Rendering took longer than ${timeoutMs} ms`, { cause: error });
      throw error;
    } finally {
      clearTimeout(timer);
    }
  }

  /** The ids of the threads alive now (tests: a terminated worker is replaced). */
  threadIds(): number[] {
    return (this.#pool?.threads ?? []).map((thread) => thread.threadId);
  }

  async close(): Promise<void> {
    const pool = this.#pool;
    this.#pool = undefined;
    await pool?.close({ force: true });
  }
}
