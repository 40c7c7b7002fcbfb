// A closed-loop HTTP/1.1 load generator for benches that share the machine with the server:
// N keep-alive sockets, each writing its next request as soon as the last is answered, until
// the deadline; requests in flight then are awaited, so every answer the server sent is
// counted (autocannon aborts them). It speaks just enough HTTP over raw sockets (a request
// as one string, an answer read to its status and Content-Length), because node:http's
// client spent about 110 µs of CPU per request in the polls bench, a third of what the API
// spent per vote, on the same 2 cores.
import net from 'node:net';

export interface LoadRequest {
  method: 'GET' | 'POST';
  path: string;
  token: string;
  /** JSON, for a POST. */
  body?: string;
}

export interface LoadResult {
  /** Answers with the expected status. */
  accepted: number;
  /** Other statuses, refused or dropped connections, answers that could not be read. */
  errors: number;
  latencies: number[];
}

const HEAD_END = Buffer.from('\r\n\r\n');
const CONTENT_LENGTH = /\r\ncontent-length:[ \t]*(\d+)/i;
const CLOSES = /\r\nconnection:[ \t]*close/i;
const CHUNKED = /\r\ntransfer-encoding:/i;

/** A request's line and headers (without the blank line that ends them), made once per kind of request. */
export function requestHead(method: string, path: string, host: string, headers: Record<string, string>): string {
  return `${method} ${path} HTTP/1.1\r\nhost: ${host}\r\n${Object.entries(headers)
    .map(([name, value]) => `${name}: ${value}\r\n`)
    .join('')}`;
}

/** The whole request as one string: the head, Content-Length when there is a body, the body. */
export function requestText(head: string, body: string | undefined): string {
  return body === undefined ? `${head}\r\n` : `${head}content-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
}

/** One keep-alive connection; `send` resolves with the answer's status, 0 when none could be read. */
export class KeepAliveConnection {
  readonly #host: string;
  readonly #port: number;
  #socket: net.Socket | undefined;
  #buffer: Buffer = Buffer.alloc(0);
  #answer: ((status: number) => void) | undefined;

  constructor(host: string, port: number) {
    this.#host = host;
    this.#port = port;
  }

  send(request: string): Promise<number> {
    return new Promise((resolve) => {
      this.#answer = resolve;
      const socket = this.#socket ?? this.#open();
      socket.write(request);
    });
  }

  close(): void {
    this.#socket?.destroy();
    this.#socket = undefined;
  }

  #open(): net.Socket {
    const socket = net.connect(this.#port, this.#host);
    socket.setNoDelay(true);
    this.#socket = socket;
    this.#buffer = Buffer.alloc(0);
    // A socket this connection already let go of (it answered `connection: close`) is no one's.
    socket.on('data', (chunk: Buffer) => {
      if (this.#socket === socket) this.#read(chunk);
    });
    const gone = () => {
      if (this.#socket !== socket) return;
      this.#socket = undefined;
      this.#finish(0);
    };
    socket.on('error', gone);
    socket.on('close', gone);
    return socket;
  }

  #read(chunk: Buffer): void {
    this.#buffer = this.#buffer.length === 0 ? chunk : Buffer.concat([this.#buffer, chunk]);
    const end = this.#buffer.indexOf(HEAD_END);
    if (end < 0) return;
    const head = this.#buffer.toString('latin1', 0, end);
    const length = CONTENT_LENGTH.exec(head);
    if (!length || CHUNKED.test(head)) {
      // Not an answer this generator reads (no length): count it failed and start over.
      this.close();
      this.#finish(0);
      return;
    }
    const size = end + HEAD_END.length + Number(length[1]);
    if (this.#buffer.length < size) return;
    this.#buffer = this.#buffer.subarray(size);
    if (CLOSES.test(head)) this.close();
    this.#finish(Number(head.slice(9, 12)));
  }

  #finish(status: number): void {
    const answer = this.#answer;
    this.#answer = undefined;
    answer?.(status);
  }
}

/** Sends nth(0), nth(1), ... from `connections` sockets for `seconds`; `expected` is the status that counts as accepted. */
export async function keepAliveLoad(
  url: string,
  options: { seconds: number; connections: number; expected: number },
  nth: (k: number) => LoadRequest,
): Promise<LoadResult> {
  const { hostname, port, host } = new URL(url);
  const result: LoadResult = { accepted: 0, errors: 0, latencies: [] };
  let next = 0;
  const until = performance.now() + options.seconds * 1000;
  const format = ({ method, path, token, body }: LoadRequest) =>
    requestText(
      requestHead(method, path, host, {
        authorization: `Bearer ${token}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      }),
      body,
    );
  await Promise.all(
    Array.from({ length: options.connections }, async () => {
      const connection = new KeepAliveConnection(hostname, Number(port));
      try {
        while (performance.now() < until) {
          const started = performance.now();
          const status = await connection.send(format(nth(next++)));
          result.latencies.push(performance.now() - started);
          if (status === options.expected) result.accepted += 1;
          else result.errors += 1;
        }
      } finally {
        connection.close();
      }
    }),
  );
  return result;
}
