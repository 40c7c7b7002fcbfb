// Reading an OpenAI-compatible embeddings API's answers: the status as a typed failure
// (with its Retry-After), and the body checked before any vector is trusted.
import { EmbeddingsError } from './provider.ts';

/** Longest piece of a provider's error body repeated in our messages. */
const DETAIL_CHARS = 200;

/** Retry-After in milliseconds: delta-seconds or an HTTP date (RFC 9110, 10.2.3); undefined when absent or unreadable. */
export function retryAfterMs(header: string | null, now = Date.now()): number | undefined {
  if (header === null || header.trim() === '') return undefined;
  const value = header.trim();
  if (/^\d+$/.test(value)) return Number(value) * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/**
 * The failure a non-2xx answer means: 429 and 5xx are the API not serving now
 * (unavailable: retried, counted by the circuit breaker), any other status refuses this
 * request (rejected: a bad key, an unknown model, an input too long; retrying cannot help).
 * `redact` removes the API key from anything the provider echoed.
 */
export function statusFailure(
  what: string,
  status: number,
  body: string,
  headers: Headers,
  redact: (text: string) => string,
): EmbeddingsError {
  const detail = errorDetail(body, redact);
  const message = `${what} answered ${status}${detail ? `: ${detail}` : ''}`;
  if (status === 429 || status >= 500)
    return new EmbeddingsError('unavailable', message, { retryAfterMs: retryAfterMs(headers.get('retry-after')) });
  return new EmbeddingsError('rejected', message);
}

/** The provider's own explanation ({error: {message}}, {error: "..."}, {message}, or text), short and without the key. */
function errorDetail(body: string, redact: (text: string) => string): string {
  let text = body;
  try {
    const parsed = JSON.parse(body) as { error?: { message?: unknown } | string; message?: unknown };
    const found = typeof parsed?.error === 'string' ? parsed.error : (parsed?.error?.message ?? parsed?.message);
    if (typeof found === 'string') text = found;
  } catch (error) {
    if (!(error instanceof SyntaxError)) throw error;
  }
  const single = redact(text).replace(/\s+/g, ' ').trim();
  return single.length > DETAIL_CHARS ? `${single.slice(0, DETAIL_CHARS)}...` : single;
}

/**
 * The vectors of a 2xx answer to `count` inputs, in input order, each L2-normalised; every
 * other shape is `malformed`: not JSON, no `data` list, a wrong count, an index missing or
 * repeated, an embedding that is not a non-empty list of finite numbers, differing lengths
 * (within the answer, or from `dimensions`, what this API gave before), a zero vector.
 */
export function parseEmbeddings(body: string, count: number, dimensions: number | undefined): Float32Array[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch (error) {
    if (!(error instanceof SyntaxError)) throw error;
    throw new EmbeddingsError('malformed', 'the embeddings API answered with something other than JSON');
  }
  const data = (parsed as { data?: unknown } | null)?.data;
  if (!Array.isArray(data)) throw new EmbeddingsError('malformed', 'the embeddings API answer has no data list');
  if (data.length !== count)
    throw new EmbeddingsError('malformed', `the embeddings API answered ${data.length} embeddings for ${count} inputs`);
  const vectors: (Float32Array | undefined)[] = new Array(count);
  let expected = dimensions;
  data.forEach((item: unknown, position) => {
    const { embedding, index = position } = (item ?? {}) as { embedding?: unknown; index?: unknown };
    if (!Number.isInteger(index) || (index as number) < 0 || (index as number) >= count || vectors[index as number])
      throw new EmbeddingsError('malformed', `the embeddings API answer has a missing, repeated or out-of-range index (${String(index)})`);
    if (!Array.isArray(embedding) || embedding.length === 0)
      throw new EmbeddingsError('malformed', `the embeddings API answer's embedding ${index} is not a list of numbers`);
    expected ??= embedding.length;
    if (embedding.length !== expected)
      throw new EmbeddingsError('malformed', `the embeddings API answered ${embedding.length} dimensions where it gave ${expected}`);
    vectors[index as number] = normalised(embedding, index as number);
  });
  return vectors as Float32Array[];
}

function normalised(values: unknown[], index: number): Float32Array {
  let sum = 0;
  for (const value of values) {
    if (typeof value !== 'number' || !Number.isFinite(value))
      throw new EmbeddingsError('malformed', `the embeddings API answer's embedding ${index} has a value that is not a finite number`);
    sum += value * value;
  }
  const length = Math.sqrt(sum);
  if (length === 0 || !Number.isFinite(length))
    throw new EmbeddingsError('malformed', `the embeddings API answer's embedding ${index} cannot be normalised (length ${length})`);
  return Float32Array.from(values as number[], (value) => value / length);
}

/** The model ids a `GET /v1/models` answer lists ({data: [{id}]}), or undefined when it is not that shape. */
export function listedModels(body: string): string[] | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch (error) {
    if (!(error instanceof SyntaxError)) throw error;
    return undefined;
  }
  const data = (parsed as { data?: unknown } | null)?.data;
  if (!Array.isArray(data)) return undefined;
  return data.flatMap((item: unknown) => {
    const id = (item as { id?: unknown } | null)?.id;
    return typeof id === 'string' ? [id] : [];
  });
}

/** Whether a listed id names the configured model; Ollama lists `name:latest` for a model asked for as `name`. */
export function sameModel(listed: string, model: string): boolean {
  return listed === model || listed === `${model}:latest` || `${listed}:latest` === model;
}
