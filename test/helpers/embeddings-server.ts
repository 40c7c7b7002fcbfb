// A stand-in OpenAI-compatible embeddings API (POST /v1/embeddings, GET /v1/models) on
// node:http, for driving the real HTTP provider: deterministic vectors from a hash of each
// text, and answers that can be made slow, 429, 500, 4xx, malformed, or a closed socket.
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export type Behaviour =
  | { kind: 'ok' }
  | { kind: 'slow'; ms: number }
  | { kind: 'status'; status: number; retryAfter?: string; body?: string }
  | { kind: 'malformed'; body: string }
  | { kind: 'wrong-count' }
  | { kind: 'close' };

export interface EmbeddingsRequest {
  path: string;
  authorization: string | undefined;
  model: unknown;
  input: string[];
  at: number;
}

export interface EmbeddingsServer {
  url: string;
  port: number;
  dimensions: number;
  /** Every POST /v1/embeddings received, in order (the GETs of /v1/models are counted in `modelsCalls`). */
  requests: EmbeddingsRequest[];
  modelsCalls: number;
  /** Answers for the next embeddings requests, one each, before `always` applies again. */
  next(...behaviours: Behaviour[]): void;
  /** The answer once `next` is used up (default ok). */
  always(behaviour: Behaviour): void;
  /** The answer of GET /v1/models. */
  models(behaviour: Behaviour | { kind: 'list'; ids: string[] }): void;
  /** The vector this server gives a text (before the provider normalises it). */
  vectorOf(text: string): number[];
  close(): Promise<void>;
}

export async function startEmbeddingsServer(
  options: { dimensions?: number; apiKey?: string; model?: string; reverse?: boolean } = {},
): Promise<EmbeddingsServer> {
  const dimensions = options.dimensions ?? 16;
  const queue: Behaviour[] = [];
  let fallback: Behaviour = { kind: 'ok' };
  let modelsAnswer: Behaviour | { kind: 'list'; ids: string[] } = { kind: 'list', ids: [options.model ?? 'test-embed'] };
  const requests: EmbeddingsRequest[] = [];
  const sockets = new Set<import('node:net').Socket>();

  const vectorOf = (text: string): number[] => {
    const digest = createHash('sha256').update(text).digest();
    return Array.from({ length: dimensions }, (_, d) => ((digest[d % digest.length] as number) - 127.5) / 127.5 + d / 1000);
  };

  const server: Server = createServer(async (request, response) => {
    const body = await readBody(request);
    if (request.method === 'GET' && request.url === '/v1/models') {
      state.modelsCalls += 1;
      if (!authorised(request, response)) return;
      if (modelsAnswer.kind === 'list')
        return json(response, 200, { object: 'list', data: modelsAnswer.ids.map((id) => ({ id, object: 'model', owned_by: 'test' })) });
      return answerWith(modelsAnswer, response, () => json(response, 200, { object: 'list', data: [] }));
    }
    if (request.method !== 'POST' || request.url !== '/v1/embeddings') return json(response, 404, { error: { message: 'not found' } });
    let parsed: { model?: unknown; input?: unknown };
    try {
      parsed = JSON.parse(body);
    } catch {
      return json(response, 400, { error: { message: 'body is not JSON' } });
    }
    const input = typeof parsed.input === 'string' ? [parsed.input] : (parsed.input as string[]);
    requests.push({ path: request.url, authorization: request.headers.authorization, model: parsed.model, input, at: Date.now() });
    if (!authorised(request, response)) return;
    const behaviour = queue.shift() ?? fallback;
    await answerWith(behaviour, response, () => {
      const data = input.map((text, index) => ({ object: 'embedding', index, embedding: vectorOf(text) }));
      const count = behaviour.kind === 'wrong-count' ? data.slice(1) : data;
      json(response, 200, { object: 'list', model: parsed.model, data: options.reverse ? count.reverse() : count });
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });

  /** OpenAI's answer to a wrong key echoes (part of) it: the provider must not pass that on. */
  function authorised(request: IncomingMessage, response: ServerResponse): boolean {
    if (options.apiKey === undefined || request.headers.authorization === `Bearer ${options.apiKey}`) return true;
    json(response, 401, {
      error: { message: `Incorrect API key provided: ${request.headers.authorization ?? 'none'}`, type: 'invalid_request_error' },
    });
    return false;
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const state: EmbeddingsServer = {
    url: `http://127.0.0.1:${port}`,
    port,
    dimensions,
    requests,
    modelsCalls: 0,
    next: (...behaviours) => queue.push(...behaviours),
    always: (behaviour) => {
      fallback = behaviour;
    },
    models: (behaviour) => {
      modelsAnswer = behaviour;
    },
    vectorOf,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
  return state;
}

async function answerWith(behaviour: Behaviour, response: ServerResponse, ok: () => void): Promise<void> {
  switch (behaviour.kind) {
    case 'slow':
      await new Promise((resolve) => setTimeout(resolve, behaviour.ms));
      if (!response.destroyed) ok();
      return;
    case 'status': {
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      if (behaviour.retryAfter !== undefined) headers['retry-after'] = behaviour.retryAfter;
      response
        .writeHead(behaviour.status, headers)
        .end(behaviour.body ?? JSON.stringify({ error: { message: `status ${behaviour.status}` } }));
      return;
    }
    case 'malformed':
      response.writeHead(200, { 'content-type': 'application/json' }).end(behaviour.body);
      return;
    case 'close':
      response.socket?.destroy();
      return;
    default:
      ok();
  }
}

function json(response: ServerResponse, status: number, value: unknown): void {
  response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(value));
}

async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
