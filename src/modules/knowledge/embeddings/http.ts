// The OpenAI-compatible embeddings API provider (OpenAI, Ollama, vLLM, TEI...): `POST
// {url}/v1/embeddings` in batches, through cockatiel: a timeout per call, retries with
// exponential backoff (or the API's longer Retry-After) on 429, 5xx, timeouts and network
// failures, and a circuit breaker that fails fast while the API is down.
import {
  BrokenCircuitError,
  CircuitState,
  ConsecutiveBreaker,
  circuitBreaker,
  DelegateBackoff,
  ExponentialBackoff,
  handleWhen,
  type IBackoff,
  type IRetryBackoffContext,
  IsolatedCircuitError,
  retry,
  TaskCancelledError,
  TimeoutStrategy,
  timeout,
  wrap,
} from 'cockatiel';
import type { Logger } from 'pino';
import type { KnowledgeConfig } from '../../../config.ts';
import { redactUrl } from '../../../config-values.ts';
import type { CircuitState as MetricsCircuitState } from '../../../platform/observability/metrics.ts';
import { listedModels, parseEmbeddings, sameModel, statusFailure } from './http-answer.ts';
import { EmbeddingsError, type EmbeddingsProvider } from './provider.ts';

/** Retries after the first try of one batch; then the failure goes to the caller (a job retries later). */
const RETRIES = 3;
const BACKOFF = { initialDelay: 250, maxDelay: 10_000 };
/** A Retry-After longer than this is not waited for here: the error carries it to the caller instead. */
const LONGEST_RETRY_AFTER_MS = 10_000;
/** Readiness asks with at most this timeout: a probe must answer quickly. */
const CHECK_TIMEOUT_MS = 2_000;

export type HttpEmbeddingsConfig = KnowledgeConfig & { embeddingsUrl: string; embeddingsModel: string };

/** Failures that mean the API is not serving now: retried, and counted by the circuit breaker. */
const isOutage = (error: unknown) =>
  (error instanceof EmbeddingsError && error.kind === 'unavailable') || error instanceof TaskCancelledError;

export class HttpEmbeddings implements EmbeddingsProvider {
  readonly model: string;
  readonly #config: HttpEmbeddingsConfig;
  readonly #base: string;
  readonly #logger: Logger;
  readonly #breaker;
  readonly #policy;
  /** The length of this API's vectors, once it has answered: a later answer of another length is malformed. */
  #dimensions: number | undefined;

  constructor(config: HttpEmbeddingsConfig, logger: Logger) {
    this.#config = config;
    this.model = `api:${config.embeddingsModel}`;
    // `{url}/v1/...`; a URL given with its /v1 (as OpenAI's docs write it) is taken as meant.
    this.#base = config.embeddingsUrl.replace(/\/+$/, '').replace(/\/v1$/, '');
    this.#logger = logger.child({ embeddings_api: redactUrl(this.#base) });
    this.#breaker = circuitBreaker(handleWhen(isOutage), {
      halfOpenAfter: config.embeddingsBreakerCooldownMs,
      breaker: new ConsecutiveBreaker(config.embeddingsBreakerFailures),
    });
    const exponential = new ExponentialBackoff(BACKOFF);
    const backoff = new DelegateBackoff<IRetryBackoffContext<unknown>, IBackoff<unknown> | undefined>((context, previous) => {
      const next = previous ? previous.next(context) : exponential.next();
      const failure = 'error' in context.result ? context.result.error : undefined;
      const asked = failure instanceof EmbeddingsError ? (failure.retryAfterMs ?? 0) : 0;
      return { delay: Math.max(next.duration, asked), state: next };
    });
    const retries = retry(
      handleWhen((error) => isOutage(error) && ((error as EmbeddingsError).retryAfterMs ?? 0) <= LONGEST_RETRY_AFTER_MS),
      { maxAttempts: RETRIES, backoff },
    );
    retries.onRetry(({ delay, attempt, ...reason }) =>
      this.#logger.warn(
        {
          event: 'embeddings.retry',
          attempt,
          delay_ms: Math.round(delay),
          reason: 'error' in reason ? (reason.error as Error).message : undefined,
        },
        'embeddings API call failed; retrying',
      ),
    );
    // Aggressive: the call is abandoned at the deadline, and its signal aborts the request.
    this.#policy = wrap(retries, this.#breaker, timeout(config.embeddingsTimeoutMs, TimeoutStrategy.Aggressive));
    this.#breaker.onStateChange((state) =>
      this.#logger.warn({ event: 'embeddings.circuit', state: stateName(state) }, 'embeddings API circuit'),
    );
  }

  /** The circuit's state, in the metrics' terms (Metrics.circuitBreaker). */
  state(): MetricsCircuitState {
    return stateName(this.#breaker.state);
  }

  /** Every change of the circuit's state (the circuit-breaker metric follows it). */
  onStateChange(listener: (state: MetricsCircuitState) => void): void {
    this.#breaker.onStateChange((state) => listener(stateName(state)));
  }

  async embed(texts: string[], signal?: AbortSignal): Promise<Float32Array[]> {
    const vectors: Float32Array[] = [];
    for (let at = 0; at < texts.length; at += this.#config.embeddingsBatchSize) {
      const batch = texts.slice(at, at + this.#config.embeddingsBatchSize);
      vectors.push(...(await this.#batch(batch, signal)));
    }
    return vectors;
  }

  /**
   * Resolves when the API can embed now: the circuit is not open, and `GET /v1/models`
   * answers 2xx within min(EMBEDDINGS_TIMEOUT_MS, 2 s); when that answer lists models
   * (OpenAI's `{data: [{id}]}`), EMBEDDINGS_MODEL must be among them (a misspelt model is
   * the commonest misconfiguration). A server that answers another shape passes on its 2xx.
   * The probe does not count toward the circuit breaker.
   */
  async check(signal?: AbortSignal): Promise<void> {
    if (this.#breaker.state === CircuitState.Open) throw this.#circuitOpen();
    const limit = AbortSignal.timeout(Math.min(this.#config.embeddingsTimeoutMs, CHECK_TIMEOUT_MS));
    const { status, body, headers } = await this.#request(
      'GET',
      '/v1/models',
      undefined,
      signal ? AbortSignal.any([signal, limit]) : limit,
    );
    if (status < 200 || status > 299) throw statusFailure('the embeddings API (GET /v1/models)', status, body, headers, this.#redact);
    const models = listedModels(body);
    const model = this.#config.embeddingsModel;
    if (models && !models.some((listed) => sameModel(listed, model)))
      throw new EmbeddingsError(
        'rejected',
        `the embeddings API does not list the model ${model} (it lists ${models.slice(0, 10).join(', ') || 'none'})`,
      );
  }

  async close(): Promise<void> {
    // fetch's connections are pooled by Node's global dispatcher; nothing of ours to release.
  }

  async #batch(input: string[], signal?: AbortSignal): Promise<Float32Array[]> {
    const cancelled = signal ? abortion(signal) : undefined;
    try {
      const running = this.#policy.execute(async ({ signal: attempt }) => {
        const { status, body, headers } = await this.#request(
          'POST',
          '/v1/embeddings',
          { model: this.#config.embeddingsModel, input },
          attempt,
        );
        if (status < 200 || status > 299) throw statusFailure('the embeddings API', status, body, headers, this.#redact);
        const vectors = parseEmbeddings(body, input.length, this.#dimensions);
        this.#dimensions = vectors[0]?.length ?? this.#dimensions;
        return vectors;
      }, signal);
      // cockatiel's backoff sleeps through an abort: the caller (a search's time budget) is answered at once instead.
      return await (cancelled ? Promise.race([running, cancelled.promise]) : running);
    } catch (error) {
      if (error instanceof BrokenCircuitError || error instanceof IsolatedCircuitError) throw this.#circuitOpen();
      if (error instanceof EmbeddingsError) throw error;
      // The caller's abort also reaches the timeout policy, which reports it as a TaskCancelledError.
      if (signal?.aborted) throw new EmbeddingsError('unavailable', 'embedding was cancelled', { cause: signal.reason });
      if (error instanceof TaskCancelledError)
        throw new EmbeddingsError('unavailable', `the embeddings API did not answer within ${this.#config.embeddingsTimeoutMs} ms`);
      throw error;
    } finally {
      cancelled?.dispose();
    }
  }

  /** One HTTP exchange; a network failure (refused, reset, DNS, cut mid-answer) is `unavailable`. */
  async #request(
    method: string,
    path: string,
    json: unknown,
    signal: AbortSignal,
  ): Promise<{ status: number; body: string; headers: Headers }> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (json !== undefined) headers['content-type'] = 'application/json';
    if (this.#config.embeddingsApiKey) headers.authorization = `Bearer ${this.#config.embeddingsApiKey}`;
    try {
      const response = await fetch(`${this.#base}${path}`, {
        method,
        headers,
        body: json === undefined ? undefined : JSON.stringify(json),
        signal,
      });
      return { status: response.status, body: await response.text(), headers: response.headers };
    } catch (error) {
      // fetch reports every network failure as a TypeError; an abort is the signal's reason (timeout or caller).
      if (error instanceof TypeError) {
        const cause = error.cause instanceof Error ? `: ${this.#redact(error.cause.message)}` : '';
        throw new EmbeddingsError('unavailable', `the embeddings API is unreachable${cause}`);
      }
      if (signal.aborted && (error as Error).name === 'TimeoutError')
        throw new EmbeddingsError('unavailable', `the embeddings API did not answer ${method} ${path} in time`);
      throw error;
    }
  }

  #circuitOpen(): EmbeddingsError {
    return new EmbeddingsError(
      'unavailable',
      `the embeddings API circuit is open after ${this.#config.embeddingsBreakerFailures} consecutive failures; it is tried again ${this.#config.embeddingsBreakerCooldownMs} ms after it opened`,
      { retryAfterMs: this.#config.embeddingsBreakerCooldownMs },
    );
  }

  /** The API key never leaves in a message, even when the API echoes it back. */
  readonly #redact = (text: string): string => {
    const key = this.#config.embeddingsApiKey;
    return key ? text.split(key).join('***') : text;
  };
}

/** A promise rejected when the signal aborts (with its reason), and the way to stop listening. */
function abortion(signal: AbortSignal): { promise: Promise<never>; dispose: () => void } {
  let dispose = () => {};
  const promise = new Promise<never>((_, reject) => {
    const onAbort = () => reject(signal.reason);
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    dispose = () => signal.removeEventListener('abort', onAbort);
  });
  return { promise, dispose };
}

function stateName(state: CircuitState): MetricsCircuitState {
  if (state === CircuitState.Closed) return 'closed';
  if (state === CircuitState.HalfOpen) return 'half_open';
  return 'open';
}
