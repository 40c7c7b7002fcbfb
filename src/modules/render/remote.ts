// The client of the `rampart render` service, through cockatiel: a timeout per call, one
// retry on a connection error, and a circuit breaker (consecutive failures open it, a
// cool-down half-opens it). Any failure, and every call while the circuit is open, renders
// in-process instead, so the service being down is never a 5xx.
import {
  BrokenCircuitError,
  CircuitState,
  ConsecutiveBreaker,
  circuitBreaker,
  handleWhen,
  IsolatedCircuitError,
  retry,
  TaskCancelledError,
  TimeoutStrategy,
  timeout,
  wrap,
} from 'cockatiel';
import type { Logger } from 'pino';
import type { RenderConfig } from '../../config.ts';
import { AppError, type ErrorCode } from '../../platform/errors.ts';
import type { RenderTask } from './renderer.ts';
import type { BreakerState, RemoteRenderer } from './service.ts';

/** The internal route of `rampart render` (src/roles/render.ts registers it). */
export const INTERNAL_RENDER_PATH = '/api/v1/internal/render';

/** The service's own refusal of this input (too large, too slow): the client's answer, not a failure of the service. */
const ANSWERS_FOR_THE_INPUT = new Set<ErrorCode>(['PAYLOAD_TOO_LARGE', 'TIMEOUT', 'VALIDATION_FAILED']);

/** A failure of the service (not of this input), after which a render in-process is the answer. */
class RenderServiceFailure extends Error {
  /** No answer at all (refused, reset, closed mid-answer): worth one immediate retry. */
  readonly connection: boolean;
  constructor(message: string, options: { cause?: unknown; connection?: boolean } = {}) {
    super(message, { cause: options.cause });
    this.name = 'RenderServiceFailure';
    this.connection = options.connection ?? false;
  }
}

const isServiceFailure = (error: unknown) => error instanceof RenderServiceFailure || error instanceof TaskCancelledError;

/** fetch reports every network failure (refused, reset, closed, DNS) as a TypeError: the service did not answer. */
function unreachable(error: unknown): never {
  if (error instanceof TypeError) throw new RenderServiceFailure('render service unreachable', { cause: error, connection: true });
  throw error;
}

export class HttpRemoteRenderer implements RemoteRenderer {
  readonly #endpoint: string;
  readonly #token: string;
  readonly #logger: Logger;
  readonly #breaker;
  readonly #policy;

  constructor(config: RenderConfig & { url: string; token: string }, logger: Logger) {
    this.#endpoint = new URL(INTERNAL_RENDER_PATH, config.url).href;
    this.#token = config.token;
    this.#logger = logger;
    this.#breaker = circuitBreaker(handleWhen(isServiceFailure), {
      halfOpenAfter: config.breakerCooldownMs,
      breaker: new ConsecutiveBreaker(config.breakerFailures),
    });
    // A refused or reset connection is retried once at once (a restarted pod, a stale keep-alive socket).
    const retryOnce = retry(
      handleWhen((error) => error instanceof RenderServiceFailure && error.connection),
      { maxAttempts: 1 },
    );
    // Aggressive: the call is abandoned at the deadline, and its signal aborts the request.
    const deadline = timeout(config.remoteTimeoutMs, TimeoutStrategy.Aggressive);
    this.#policy = wrap(retryOnce, this.#breaker, deadline);
    this.#breaker.onStateChange((state) =>
      this.#logger.warn({ event: 'render.circuit', state: stateName(state) }, 'render service circuit'),
    );
  }

  state(): BreakerState {
    return stateName(this.#breaker.state);
  }

  /** Every change of the circuit's state (the circuit-breaker metric follows it). */
  onStateChange(listener: (state: BreakerState) => void): void {
    this.#breaker.onStateChange((state) => listener(stateName(state)));
  }

  async render(task: RenderTask, local: () => Promise<string>): Promise<string> {
    try {
      return await this.#policy.execute(({ signal }) => this.#call(task, signal));
    } catch (error) {
      if (error instanceof BrokenCircuitError || error instanceof IsolatedCircuitError) return local();
      if (isServiceFailure(error)) {
        this.#logger.warn({ err: error, event: 'render.fallback' }, 'render service failed; rendering in-process');
        return local();
      }
      throw error;
    }
  }

  async #call(task: RenderTask, signal: AbortSignal): Promise<string> {
    const response = await fetch(this.#endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${this.#token}` },
      body: JSON.stringify(task),
      signal,
    }).catch(unreachable);
    const text = await response.text().catch(unreachable);
    let body: { html?: unknown; error_code?: ErrorCode; message?: string } | undefined;
    try {
      body = JSON.parse(text);
    } catch (error) {
      if (!(error instanceof SyntaxError)) throw error;
      throw new RenderServiceFailure(`render service answered ${response.status} without JSON`);
    }
    if (response.ok && typeof body?.html === 'string') return body.html;
    const code = body?.error_code;
    if (code !== undefined && ANSWERS_FOR_THE_INPUT.has(code)) throw new AppError(code, body?.message ?? 'Rendering failed');
    throw new RenderServiceFailure(`render service answered ${response.status} ${code ?? ''}`.trim());
  }
}

function stateName(state: CircuitState): BreakerState {
  if (state === CircuitState.Closed) return 'closed';
  if (state === CircuitState.HalfOpen) return 'half-open';
  return 'open';
}
