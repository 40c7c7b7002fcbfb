// A small typed client of the gateway's protocol for tests, benchmarks and the web UI:
// it reconnects with exponential backoff (with jitter) and re-subscribes its topics. It
// speaks to any WHATWG-style WebSocket (the browser's, or `ws` in Node, which can also send headers).

/** The WebSocket surface the client uses: the browser's and `ws`'s both have it. */
export interface WebSocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  addEventListener(type: 'open', listener: () => void): void;
  addEventListener(type: 'message', listener: (event: { data: unknown }) => void): void;
  addEventListener(type: 'close', listener: (event: { code: number; reason: string }) => void): void;
  addEventListener(type: 'error', listener: (event: unknown) => void): void;
}

export interface RealtimeEvent {
  topic: string;
  event: string;
  data: unknown;
  request_id: string;
  at: string;
}

export interface RealtimeErrorFrame {
  error_code: string;
  message: string;
  request_id: string;
  topic?: string;
}

export type ClientState = 'connecting' | 'open' | 'reconnecting' | 'closed';

export interface RealtimeClientOptions {
  /** Opens a socket to /api/v1/ws (with the token or cookie the caller chooses). */
  connect(): WebSocketLike;
  minReconnectDelayMs?: number;
  maxReconnectDelayMs?: number;
}

const OPEN = 1;
// The server ended the session: reconnecting would only be refused.
const SESSION_ENDED = 4401;

export class RealtimeClient {
  readonly #options: Required<RealtimeClientOptions>;
  readonly #topics = new Set<string>();
  readonly #eventListeners = new Set<(event: RealtimeEvent) => void>();
  readonly #errorListeners = new Set<(error: RealtimeErrorFrame) => void>();
  readonly #stateListeners = new Set<(state: ClientState, close?: { code: number; reason: string }) => void>();
  readonly #subscribedWaiters = new Map<string, { resolve(): void; reject(error: RealtimeErrorFrame): void }[]>();
  #socket: WebSocketLike | undefined;
  #state: ClientState = 'connecting';
  #attempt = 0;
  #retryTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(options: RealtimeClientOptions) {
    this.#options = { minReconnectDelayMs: 250, maxReconnectDelayMs: 10_000, ...options };
    this.#open();
  }

  get state(): ClientState {
    return this.#state;
  }

  onEvent(listener: (event: RealtimeEvent) => void): () => void {
    this.#eventListeners.add(listener);
    return () => this.#eventListeners.delete(listener);
  }

  onError(listener: (error: RealtimeErrorFrame) => void): () => void {
    this.#errorListeners.add(listener);
    return () => this.#errorListeners.delete(listener);
  }

  onStateChange(listener: (state: ClientState, close?: { code: number; reason: string }) => void): () => void {
    this.#stateListeners.add(listener);
    return () => this.#stateListeners.delete(listener);
  }

  /**
   * Subscribes now (and again after every reconnect); resolves once the server confirms,
   * rejects with the server's error frame when it refuses (and then forgets the topic).
   */
  subscribe(topic: string): Promise<void> {
    this.#topics.add(topic);
    const confirmed = new Promise<void>((resolve, reject) => {
      const waiters = this.#subscribedWaiters.get(topic) ?? [];
      waiters.push({ resolve, reject });
      this.#subscribedWaiters.set(topic, waiters);
    });
    this.#sendOp({ op: 'subscribe', topic });
    return confirmed;
  }

  unsubscribe(topic: string): void {
    this.#topics.delete(topic);
    this.#sendOp({ op: 'unsubscribe', topic });
  }

  /** Closes for good: no reconnect. */
  close(): void {
    clearTimeout(this.#retryTimer);
    this.#setState('closed');
    this.#socket?.close(1000, 'client closed');
  }

  #open(): void {
    const socket = this.#options.connect();
    this.#socket = socket;
    socket.addEventListener('open', () => {
      this.#attempt = 0;
      this.#setState('open');
      for (const topic of this.#topics) this.#sendOp({ op: 'subscribe', topic });
    });
    socket.addEventListener('message', (message) => this.#receive(message.data));
    socket.addEventListener('error', () => {}); // a close event follows; that is where we act
    socket.addEventListener('close', (close) => {
      if (this.#socket !== socket || this.#state === 'closed') return;
      if (close.code === SESSION_ENDED) {
        this.#setState('closed', close);
        return;
      }
      this.#setState('reconnecting', close);
      const ceiling = Math.min(this.#options.maxReconnectDelayMs, this.#options.minReconnectDelayMs * 2 ** this.#attempt);
      this.#attempt += 1;
      // Full jitter: a restarted server is not met by every client at the same instant.
      this.#retryTimer = setTimeout(() => this.#open(), Math.random() * ceiling);
    });
  }

  #receive(data: unknown): void {
    const message = JSON.parse(String(data)) as { op: string; topic?: string };
    if (message.op === 'event') {
      for (const listener of this.#eventListeners) listener(message as unknown as RealtimeEvent);
    } else if (message.op === 'error') {
      const error = message as unknown as RealtimeErrorFrame;
      for (const listener of this.#errorListeners) listener(error);
      if (error.topic !== undefined) this.#settle(error.topic, error);
    } else if (message.op === 'subscribed' && message.topic !== undefined) {
      this.#settle(message.topic);
    }
  }

  #settle(topic: string, refusal?: RealtimeErrorFrame): void {
    const waiters = this.#subscribedWaiters.get(topic) ?? [];
    this.#subscribedWaiters.delete(topic);
    if (refusal) this.#topics.delete(topic);
    for (const waiter of waiters) {
      if (refusal) waiter.reject(refusal);
      else waiter.resolve();
    }
  }

  #sendOp(op: object): void {
    if (this.#socket?.readyState === OPEN) this.#socket.send(JSON.stringify(op));
  }

  #setState(state: ClientState, close?: { code: number; reason: string }): void {
    this.#state = state;
    for (const listener of this.#stateListeners) listener(state, close);
  }
}
