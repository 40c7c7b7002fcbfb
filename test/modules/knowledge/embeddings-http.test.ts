// The OpenAI-compatible embeddings provider against a stand-in API server speaking that
// protocol: batching, retries (Retry-After honoured), the circuit breaker, typed errors,
// readiness, and the API key kept out of logs and messages.
import { afterEach, describe, expect, it } from 'vitest';
import { type KnowledgeConfig, loadConfig } from '../../../src/config.ts';
import {
  createEmbeddingsProvider,
  EmbeddingsError,
  HttpEmbeddings,
  LocalEmbeddings,
} from '../../../src/modules/knowledge/embeddings/index.ts';
import { createLogger } from '../../../src/platform/observability/logger.ts';
import { Metrics } from '../../../src/platform/observability/metrics.ts';
import { type EmbeddingsServer, startEmbeddingsServer } from '../../helpers/embeddings-server.ts';

const KEY = 'sk-test-4f9a1c0d7e2b6a3958c1d0e7f6a5b4c3';
const servers: EmbeddingsServer[] = [];

async function server(options: Parameters<typeof startEmbeddingsServer>[0] = {}) {
  const started = await startEmbeddingsServer(options);
  servers.push(started);
  return started;
}

afterEach(async () => {
  await Promise.all(servers.splice(0).map((each) => each.close()));
});

function settings(url: string, overrides: Partial<KnowledgeConfig> = {}) {
  const knowledge = loadConfig({ EMBEDDINGS_URL: url, EMBEDDINGS_MODEL: 'test-embed' }).knowledge;
  return { ...knowledge, embeddingsUrl: url, embeddingsModel: 'test-embed', ...overrides };
}

/** A provider whose every log line is kept, to check what reaches the logs. */
function provider(url: string, overrides: Partial<KnowledgeConfig> = {}) {
  const lines: string[] = [];
  const logger = createLogger('trace', { write: (line: string) => lines.push(line) });
  return { embeddings: new HttpEmbeddings(settings(url, overrides), logger), lines };
}

function unit(vector: number[]): number[] {
  const length = Math.hypot(...vector);
  return vector.map((value) => value / length);
}

async function failure(promise: Promise<unknown>): Promise<EmbeddingsError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(EmbeddingsError);
  return error as EmbeddingsError;
}

describe('HTTP embeddings provider', () => {
  it('sends batches of EMBEDDINGS_BATCH_SIZE and returns one unit vector per text, in order', async () => {
    const api = await server({ reverse: true, apiKey: KEY });
    const { embeddings } = provider(api.url, { embeddingsBatchSize: 3, embeddingsApiKey: KEY });
    const texts = ['alpha', 'beta', 'gamma', 'delta', 'epsilon', 'zeta', 'eta'];
    const vectors = await embeddings.embed(texts);
    expect(embeddings.model).toBe('api:test-embed');
    expect(api.requests.map((request) => request.input)).toEqual([texts.slice(0, 3), texts.slice(3, 6), texts.slice(6)]);
    expect(api.requests.every((request) => request.model === 'test-embed' && request.authorization === `Bearer ${KEY}`)).toBe(true);
    // The server answers each batch in reverse order: the provider puts them back by index.
    vectors.forEach((vector, i) => {
      expect(vector).toBeInstanceOf(Float32Array);
      const expected = unit(api.vectorOf(texts[i] as string));
      expect(Array.from(vector).map((value) => value.toFixed(5))).toEqual(expected.map((value) => value.toFixed(5)));
    });
    expect(await embeddings.embed([])).toEqual([]);
    expect(api.requests).toHaveLength(3);
  });

  it('accepts the URL with or without its /v1 and a trailing slash', async () => {
    const api = await server();
    for (const url of [`${api.url}/`, `${api.url}/v1`, `${api.url}/v1/`]) {
      const { embeddings } = provider(url);
      expect(await embeddings.embed(['one'])).toHaveLength(1);
    }
  });

  it('retries 500s and a closed connection, then succeeds', async () => {
    const api = await server();
    const { embeddings } = provider(api.url);
    api.next({ kind: 'status', status: 500 }, { kind: 'close' }, { kind: 'status', status: 503 });
    const [vector] = await embeddings.embed(['retried']);
    expect(api.requests).toHaveLength(4);
    expect(vector?.length).toBe(api.dimensions);
  });

  it('waits the Retry-After of a 429 before trying again', async () => {
    const api = await server();
    const { embeddings } = provider(api.url);
    api.next({ kind: 'status', status: 429, retryAfter: '1' });
    await embeddings.embed(['throttled']);
    const [first, second] = api.requests;
    expect(api.requests).toHaveLength(2);
    expect((second?.at ?? 0) - (first?.at ?? 0)).toBeGreaterThanOrEqual(950);
  });

  it('does not wait out a long Retry-After: the error carries it to the caller', async () => {
    const api = await server();
    const { embeddings } = provider(api.url);
    api.next({ kind: 'status', status: 429, retryAfter: '120' });
    const error = await failure(embeddings.embed(['throttled']));
    expect(error.kind).toBe('unavailable');
    expect(error.retryAfterMs).toBe(120_000);
    expect(error.message).toContain('429');
    expect(api.requests).toHaveLength(1);
  });

  it('answers a caller that gives up (a search time budget) at once, even during a backoff', async () => {
    const api = await server();
    const { embeddings, lines } = provider(api.url);
    api.next({ kind: 'status', status: 429, retryAfter: '10' });
    const controller = new AbortController();
    const pending = embeddings.embed(['in a hurry'], controller.signal);
    // Abort once the 429 has been answered and the 10 s wait before the retry has begun.
    while (!lines.some((line) => line.includes('"event":"embeddings.retry"'))) await new Promise((resolve) => setTimeout(resolve, 10));
    const aborted = Date.now();
    controller.abort();
    const error = await failure(pending);
    expect([error.kind, error.message]).toEqual(['unavailable', 'embedding was cancelled']);
    // Not after the Retry-After's 10 s (the margin is for a slow machine; it answers within milliseconds).
    expect(Date.now() - aborted).toBeLessThan(5_000);
    expect(api.requests).toHaveLength(1);
  });

  it('gives up after its retries as unavailable, each call cut at EMBEDDINGS_TIMEOUT_MS', async () => {
    const api = await server();
    const { embeddings } = provider(api.url, { embeddingsTimeoutMs: 150 });
    api.always({ kind: 'slow', ms: 3_000 });
    const error = await failure(embeddings.embed(['slow']));
    expect(error.kind).toBe('unavailable');
    expect(error.message).toContain('did not answer within 150 ms');
    expect(api.requests).toHaveLength(4);
  });

  it('opens the circuit after EMBEDDINGS_BREAKER_FAILURES, fails fast while open, and closes once the API is back', async () => {
    const api = await server();
    const metrics = new Metrics({ defaultMetrics: false });
    const lines: string[] = [];
    const config = settings(api.url, { embeddingsBreakerFailures: 2, embeddingsBreakerCooldownMs: 2_000 });
    const embeddings = createEmbeddingsProvider(config, createLogger('info', { write: (line: string) => lines.push(line) }), metrics);
    expect(embeddings).toBeInstanceOf(HttpEmbeddings);
    const gauge = async (state: string) =>
      (await metrics.registry.getSingleMetricAsString('rampart_circuit_breaker_state')).includes(
        `rampart_circuit_breaker_state{dependency="embeddings",state="${state}"} 1`,
      );
    expect(await gauge('closed')).toBe(true);

    api.always({ kind: 'status', status: 500 });
    const opened = await failure(embeddings.embed(['down']));
    expect(opened.kind).toBe('unavailable');
    expect(opened.message).toContain('circuit is open');
    expect(api.requests).toHaveLength(2); // the third try met the open circuit
    expect(await gauge('open')).toBe(true);
    expect(lines.some((line) => line.includes('"event":"embeddings.circuit"') && line.includes('"state":"open"'))).toBe(true);

    const fast = await failure(embeddings.embed(['still down']));
    expect(fast.message).toContain('circuit is open');
    expect(fast.retryAfterMs).toBe(2_000);
    expect(api.requests).toHaveLength(2);
    await expect(embeddings.check()).rejects.toThrow(/circuit is open/);

    api.always({ kind: 'ok' });
    await new Promise((resolve) => setTimeout(resolve, 2_100)); // the cool-down: the next call is the half-open trial
    expect(await embeddings.embed(['back'])).toHaveLength(1);
    expect(await gauge('closed')).toBe(true);
    await embeddings.check();
  });

  it('answers a 4xx other than 429 as rejected, without retrying or opening the circuit', async () => {
    const api = await server();
    const { embeddings } = provider(api.url, { embeddingsBreakerFailures: 2 });
    api.always({ kind: 'status', status: 400, body: JSON.stringify({ error: { message: 'input too long for this model' } }) });
    for (let i = 0; i < 3; i += 1) {
      const error = await failure(embeddings.embed(['too long']));
      expect(error.kind).toBe('rejected');
      expect(error.message).toBe('the embeddings API answered 400: input too long for this model');
    }
    expect(api.requests).toHaveLength(3);
    expect(embeddings.state()).toBe('closed');
  });

  it('answers every malformed answer as malformed, without retrying', async () => {
    const api = await server({ dimensions: 4 });
    const { embeddings } = provider(api.url);
    const cases: [string, RegExp][] = [
      ['<html>bad gateway</html>', /other than JSON/],
      ['{"object":"list"}', /no data list/],
      ['{"data":[{"index":0,"embedding":[1,2]},{"index":1,"embedding":[1,2,3]}]}', /3 dimensions where it gave 2/],
      ['{"data":[{"index":0,"embedding":[1,1e999]},{"index":1,"embedding":[1,2]}]}', /not a finite number/],
      ['{"data":[{"index":0,"embedding":[1,"2"]},{"index":1,"embedding":[1,2]}]}', /not a finite number/],
      ['{"data":[{"index":0,"embedding":[0,0]},{"index":1,"embedding":[1,2]}]}', /cannot be normalised/],
      ['{"data":[{"index":0,"embedding":[1,2]},{"index":0,"embedding":[1,2]}]}', /repeated or out-of-range index/],
      ['{"data":[{"index":0,"embedding":"1,2"},{"index":1,"embedding":[1,2]}]}', /not a list of numbers/],
    ];
    for (const [body, message] of cases) {
      api.next({ kind: 'malformed', body });
      const error = await failure(embeddings.embed(['a', 'b']));
      expect([error.kind, error.message]).toEqual(['malformed', expect.stringMatching(message)]);
    }
    api.next({ kind: 'wrong-count' });
    expect((await failure(embeddings.embed(['a', 'b']))).message).toMatch(/answered 1 embeddings for 2 inputs/);
    expect(api.requests).toHaveLength(cases.length + 1);

    // Once the API has answered 4 dimensions, an answer of another length is malformed too.
    await embeddings.embed(['a']);
    api.next({ kind: 'malformed', body: '{"data":[{"index":0,"embedding":[1,2,3]}]}' });
    expect((await failure(embeddings.embed(['a']))).message).toMatch(/3 dimensions where it gave 4/);
  });

  it('answers an unreachable API as unavailable', async () => {
    const api = await server();
    await api.close();
    const { embeddings } = provider(api.url);
    const error = await failure(embeddings.embed(['nobody home']));
    expect(error.kind).toBe('unavailable');
    expect(error.message).toMatch(/unreachable/);
    await expect(embeddings.check()).rejects.toThrow(/unreachable/);
  });

  it('never lets the API key reach a log line or an error message, even when the API echoes it', async () => {
    const api = await server({ apiKey: 'the-right-key' });
    const { embeddings, lines } = provider(api.url, { embeddingsApiKey: KEY, embeddingsBreakerFailures: 3 });
    const rejected = await failure(embeddings.embed(['secret?']));
    expect(rejected.kind).toBe('rejected');
    expect(rejected.message).toContain('Incorrect API key provided: Bearer ***');
    expect(api.requests[0]?.authorization).toBe(`Bearer ${KEY}`); // it did go to the API, in the header

    const other = await server({ apiKey: KEY });
    const logged = provider(other.url, { embeddingsApiKey: KEY, embeddingsBreakerFailures: 2 });
    other.always({ kind: 'status', status: 500, body: JSON.stringify({ error: { message: `upstream saw ${KEY}` } }) });
    const unavailable = await failure(logged.embeddings.embed(['x']));
    await failure(logged.embeddings.check());
    const everything = [...lines, ...logged.lines, rejected.message, unavailable.message, JSON.stringify(rejected), String(rejected.cause)];
    expect(logged.lines.some((line) => line.includes('embeddings.retry'))).toBe(true);
    expect(logged.lines.some((line) => line.includes('embeddings.circuit'))).toBe(true);
    for (const text of everything) expect(text).not.toContain(KEY);
  });

  it('checks readiness with GET /v1/models: the model must be listed when the API lists models', async () => {
    const api = await server({ apiKey: KEY });
    const { embeddings } = provider(api.url, { embeddingsApiKey: KEY });
    await embeddings.check();
    expect(api.modelsCalls).toBe(1);

    api.models({ kind: 'list', ids: ['test-embed:latest', 'llama3'] }); // Ollama's naming
    await embeddings.check();

    api.models({ kind: 'list', ids: ['other-model'] });
    const missing = await failure(embeddings.check());
    expect([missing.kind, missing.message]).toEqual([
      'rejected',
      'the embeddings API does not list the model test-embed (it lists other-model)',
    ]);

    api.models({ kind: 'malformed', body: '{"models": "not the OpenAI shape"}' });
    await embeddings.check(); // a 2xx in another shape: the API answers, the model cannot be verified

    api.models({ kind: 'status', status: 503 });
    expect((await failure(embeddings.check())).kind).toBe('unavailable');

    const slow = provider(api.url, { embeddingsApiKey: KEY, embeddingsTimeoutMs: 200 });
    api.models({ kind: 'slow', ms: 3_000 });
    await expect(slow.embeddings.check()).rejects.toThrow(/did not answer GET \/v1\/models in time/);
    expect(slow.embeddings.state()).toBe('closed'); // readiness probes do not count toward the breaker
  });

  it('is picked by the factory only when EMBEDDINGS_URL is set', () => {
    const logger = createLogger('silent');
    expect(createEmbeddingsProvider(loadConfig({}).knowledge, logger)).toBeInstanceOf(LocalEmbeddings);
    const api = createEmbeddingsProvider(settings('http://127.0.0.1:9'), logger);
    expect([api.constructor, api.model]).toEqual([HttpEmbeddings, 'api:test-embed']);
  });
});
