// One WebSocket connection's state as the gateway holds it, and the indexes that find
// connections by topic and by session.
import type { FastifyBaseLogger } from 'fastify';
import type { RawData, WebSocket } from 'ws';
import type { RealtimeIdentity } from './contract.ts';

export interface Connection {
  socket: WebSocket;
  identity: RealtimeIdentity;
  requestId: string;
  log: FastifyBaseLogger;
  topics: Set<string>;
  /** Subscriptions whose authorization is still being checked: they count against the limit. */
  pending: Set<string>;
  alive: boolean;
  protocolErrors: number;
  windowStartedAt: number;
  messagesInWindow: number;
  expiryTimer: NodeJS.Timeout | undefined;
  released: boolean;
  onMessage(data: RawData, isBinary: boolean): void;
  onPong(): void;
  onClose(): void;
}

/** Connections by a key (a topic, a session id); an empty set is dropped with its key. */
export class ConnectionIndex<Key> {
  readonly #sets = new Map<Key, Set<Connection>>();

  get size(): number {
    return this.#sets.size;
  }

  get(key: Key): ReadonlySet<Connection> | undefined {
    return this.#sets.get(key);
  }

  keys(): IterableIterator<Key> {
    return this.#sets.keys();
  }

  add(key: Key, connection: Connection): void {
    const set = this.#sets.get(key);
    if (set) set.add(connection);
    else this.#sets.set(key, new Set([connection]));
  }

  remove(key: Key, connection: Connection): void {
    const set = this.#sets.get(key);
    if (!set) return;
    set.delete(connection);
    if (set.size === 0) this.#sets.delete(key);
  }
}
