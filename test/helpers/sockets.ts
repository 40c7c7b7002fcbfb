// Real WebSocket clients for tests: open a socket to a listening app with the headers a
// client would send, read its frames in order, await its close code, or read the HTTP
// answer of a refused upgrade.
import type { IncomingMessage } from 'node:http';
import type { FastifyInstance } from 'fastify';
import WebSocket from 'ws';

export interface TestSocket {
  ws: WebSocket;
  /** Every JSON frame received so far, in order. */
  frames: Record<string, unknown>[];
  send(message: unknown): void;
  /** The first frame (from now or already received) that matches. */
  next(match: (frame: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>;
  closed: Promise<{ code: number; reason: string }>;
}

/** Listens on a free loopback port (once) and returns the ws:// URL of the gateway. */
export async function gatewayUrl(app: FastifyInstance): Promise<string> {
  if (!app.server.listening) await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  if (address === null || typeof address === 'string') throw new Error('app is not listening on TCP');
  return `ws://127.0.0.1:${address.port}/api/v1/ws`;
}

export function openSocket(url: string, headers: Record<string, string>, options: WebSocket.ClientOptions = {}): Promise<TestSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers, perMessageDeflate: false, ...options });
    const frames: Record<string, unknown>[] = [];
    const waiters = new Set<{ match: (frame: Record<string, unknown>) => boolean; resolve: (frame: Record<string, unknown>) => void }>();
    const closed = new Promise<{ code: number; reason: string }>((resolveClose) => {
      ws.on('close', (code, reason) => resolveClose({ code, reason: reason.toString() }));
    });
    ws.on('message', (data, isBinary) => {
      const frame = isBinary ? { binary: true } : (JSON.parse(data.toString()) as Record<string, unknown>);
      frames.push(frame);
      for (const waiter of waiters) {
        if (waiter.match(frame)) {
          waiters.delete(waiter);
          waiter.resolve(frame);
        }
      }
    });
    ws.once('unexpected-response', (_request, response) => reject(new Error(`upgrade refused with ${response.statusCode}`)));
    ws.once('error', reject);
    ws.once('open', () => {
      ws.off('error', reject);
      ws.on('error', () => {}); // protocol errors end in a close code, which the tests read
      resolve({
        ws,
        frames,
        closed,
        send: (message) => ws.send(typeof message === 'string' ? message : JSON.stringify(message)),
        next(match, timeoutMs = 30_000) {
          const found = frames.find(match);
          if (found) return Promise.resolve(found);
          return new Promise((resolveFrame, rejectFrame) => {
            const waiter = {
              match,
              resolve: (frame: Record<string, unknown>) => {
                clearTimeout(timer);
                resolveFrame(frame);
              },
            };
            const timer = setTimeout(() => {
              waiters.delete(waiter);
              rejectFrame(new Error(`no matching frame within ${timeoutMs} ms; got ${JSON.stringify(frames.slice(-5))}`));
            }, timeoutMs);
            waiters.add(waiter);
          });
        },
      });
    });
  });
}

/** The HTTP answer to an upgrade the server refuses (status, headers, parsed body). */
export function refusedUpgrade(
  url: string,
  headers: Record<string, string>,
): Promise<{ status: number; headers: IncomingMessage['headers']; body: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers });
    ws.once('open', () => {
      ws.close();
      reject(new Error('the upgrade was accepted'));
    });
    ws.once('error', () => {}); // ws reports the refusal as an error after unexpected-response
    ws.once('unexpected-response', (_request, response) => {
      let body = '';
      response.on('data', (chunk: Buffer) => {
        body += chunk.toString();
      });
      response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body: JSON.parse(body || '{}') }));
    });
  });
}
