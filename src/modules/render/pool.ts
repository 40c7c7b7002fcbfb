// The render worker pool (piscina): renders off the event loop, each task under a time
// limit; a task past it has its worker terminated (piscina replaces it) and answers TIMEOUT.
// Tasks wait for a thread here, not in piscina's queue, so a task whose caller went away
// before it started is dropped without touching a worker.
import { availableParallelism } from 'node:os';
import { Piscina } from 'piscina';
import { AppError } from '../../platform/errors.ts';
import { ClientGoneError } from '../../platform/http/client-gone.ts';
import type { RenderTask } from './renderer.ts';

const WORKER = new URL('./worker.ts', import.meta.url).href;

/** Threads for a machine: every core (the work is CPU-bound; the event loop mostly waits). */
export function poolSizeFor(configured: number): number {
  return configured > 0 ? configured : Math.max(1, availableParallelism());
}

export interface RunOptions {
  /** The limit, counted from submission; the pool's RENDER_TIMEOUT_MS unless given. */
  timeoutMs?: number;
  /**
   * Fires when nobody waits for the answer any more (the HTTP client disconnected). A task
   * still waiting for a thread is dropped; one already running finishes, since piscina can
   * stop it only by terminating its worker, which costs more than the render.
   */
  abandoned?: AbortSignal | undefined;
}

const closedError = () => new AppError('UNAVAILABLE', 'The render pool is shutting down');

export interface RenderPoolStats {
  running: number;
  waiting: number;
  dropped: number;
}

/** A task waiting for a thread: `start` gives it one, `drop` refuses it. */
interface Waiter {
  start: () => void;
  drop: (error: Error) => void;
}

export class RenderPool {
  readonly #threads: number;
  readonly #timeoutMs: number;
  // Made on the first render, so building the module starts no thread.
  #pool: Piscina<RenderTask, string> | undefined;
  #running = 0;
  /** In arrival order (a Set iterates in insertion order and deletes in O(1)). */
  readonly #waiting = new Set<Waiter>();
  #dropped = 0;
  #closed = false;

  constructor(options: { threads: number; timeoutMs: number }) {
    this.#threads = poolSizeFor(options.threads);
    this.#timeoutMs = options.timeoutMs;
  }

  get threads(): number {
    return this.#threads;
  }

  /** Tasks on a thread and waiting for one now, and tasks dropped so far because their caller went away. */
  get stats(): RenderPoolStats {
    return { running: this.#running, waiting: this.#waiting.size, dropped: this.#dropped };
  }

  /** The HTML of a task; 504 TIMEOUT past the time limit (the worker that ran it is replaced). */
  async run(task: RenderTask, options: RunOptions = {}): Promise<string> {
    const timeoutMs = options.timeoutMs ?? this.#timeoutMs;
    if (this.#closed) throw closedError();
    if (options.abandoned?.aborted) throw this.#drop();
    // The limit counts from submission: a task waiting behind others spends it too, so a
    // flood of slow inputs is refused rather than queued without bound.
    // A timer cleared on completion, not AbortSignal.timeout: that one fires for every render
    // after its limit, done or not, and builds a DOMException each time (2.6 % of the API's
    // busy time in a profile of the render bench's cold run).
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), timeoutMs);
    try {
      if (this.#running >= this.#threads) await this.#threadFreed(controller.signal, options.abandoned);
      else this.#running += 1;
      try {
        this.#pool ??= new Piscina<RenderTask, string>({
          filename: WORKER,
          minThreads: this.#threads,
          maxThreads: this.#threads,
          idleTimeout: 60_000,
        });
        return await this.#pool.run(task, { signal: controller.signal });
      } finally {
        this.#release();
      }
    } catch (error) {
      if (controller.signal.aborted) throw new AppError('TIMEOUT', `Rendering took longer than ${timeoutMs} ms`, { cause: error });
      throw error;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Resolves once a thread is this task's; rejects if the time limit passes or the caller leaves first. */
  #threadFreed(limit: AbortSignal, abandoned: AbortSignal | undefined): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = {
        start: () => {
          settle();
          resolve();
        },
        drop: (error) => {
          settle();
          reject(error);
        },
      };
      const onLimit = () => waiter.drop(new Error('time limit passed while waiting for a thread'));
      const onAbandoned = () => waiter.drop(this.#drop());
      const settle = () => {
        this.#waiting.delete(waiter);
        limit.removeEventListener('abort', onLimit);
        abandoned?.removeEventListener('abort', onAbandoned);
      };
      limit.addEventListener('abort', onLimit, { once: true });
      abandoned?.addEventListener('abort', onAbandoned, { once: true });
      this.#waiting.add(waiter);
    });
  }

  /** Counts a task dropped for its caller's leaving; nobody reads the answer, logs and metrics do. */
  #drop(): ClientGoneError {
    this.#dropped += 1;
    return new ClientGoneError('The caller went away before its render started; it was dropped');
  }

  /** A task finished: its thread goes to the longest-waiting task, if any (none once closed). */
  #release(): void {
    const next = this.#waiting.values().next();
    if (next.done || this.#closed) this.#running -= 1;
    else next.value.start();
  }

  /** The ids of the threads alive now (tests: a terminated worker is replaced). */
  threadIds(): number[] {
    return (this.#pool?.threads ?? []).map((thread) => thread.threadId);
  }

  /** Refuses what waits and anything new; renders already running finish. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const waiter of this.#waiting) waiter.drop(closedError());
    const pool = this.#pool;
    this.#pool = undefined;
    await pool?.close({ force: true });
  }
}
