// The embeddings provider contract: texts in, one vector each out, all of one model. The
// knowledge module stores `model` with every vector and never compares two models' vectors.

/** Why a provider could not embed: decides retry (unavailable) vs give up (rejected, malformed). */
export type EmbeddingsFailureKind = 'unavailable' | 'rejected' | 'malformed';

export class EmbeddingsError extends Error {
  readonly kind: EmbeddingsFailureKind;
  /** The provider's own Retry-After, when it sent one. */
  readonly retryAfterMs: number | undefined;

  constructor(kind: EmbeddingsFailureKind, message: string, options: { retryAfterMs?: number; cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.name = 'EmbeddingsError';
    this.kind = kind;
    this.retryAfterMs = options.retryAfterMs;
  }
}

export interface EmbeddingsProvider {
  /** Stored with each vector, e.g. `local:wink-sg100d-sif@1` or `api:text-embedding-3-small`. */
  readonly model: string;
  /**
   * One vector per text, in order, each of the same length, L2-normalised.
   * Throws EmbeddingsError (only) when it cannot.
   */
  embed(texts: string[], signal?: AbortSignal): Promise<Float32Array[]>;
  /** Readiness: resolves when the provider can embed now, throws (with the reason) when not. */
  check(signal?: AbortSignal): Promise<void>;
  close(): Promise<void>;
}
