// The WebSocket gateway of one process: holds its authenticated connections and their
// topic subscriptions, enforces the per-connection, per-account and per-process limits,
// delivers what the hub fans out, pings peers, and closes sockets whose session ended.
import type { FastifyBaseLogger } from 'fastify';
import type { RawData, WebSocket } from 'ws';
import type { ErrorCode } from '../errors.ts';
import type { TopicDefinition } from '../module.ts';
import type { RealtimeMetrics } from '../observability/metrics.ts';
import { type Connection, ConnectionIndex } from './connection.ts';
import type { GatewayStats, RealtimeAuthenticator, RealtimeIdentity, RealtimeLimits } from './contract.ts';
import { ownerOf, SubscriptionDecisions } from './decisions.ts';
import type { RealtimeDelivery, RealtimeHub } from './hub.ts';
import {
  CLOSE,
  type ClientOp,
  errorFrame,
  PONG_FRAME,
  ProtocolError,
  parseClientFrame,
  reportFailure,
  subscribedFrame,
  unsubscribedFrame,
} from './protocol.ts';

// setTimeout's limit; a session expiring later is re-armed when this fires.
const MAX_TIMER_MS = 2 ** 31 - 1;
const LISTENERS_PER_CONNECTION = 3;
// How long a who-may-subscribe answer is reused (decisions.ts says why that is safe).
const DECISION_TTL_MS = 30_000;
// Over the message rate, messages are dropped with an error; this many times over it in one second is a flood: 1008.
const FLOOD_FACTOR = 5;

export class RealtimeGateway implements RealtimeDelivery {
  readonly #limits: RealtimeLimits;
  readonly #topicDefinitions: readonly TopicDefinition[];
  readonly #authenticator: RealtimeAuthenticator;
  readonly #logger: FastifyBaseLogger;
  readonly #metrics: RealtimeMetrics | undefined;
  readonly #connections = new Set<Connection>();
  readonly #byTopic = new ConnectionIndex<string>();
  readonly #bySession = new ConnectionIndex<string>();
  readonly #perAccount = new Map<string, number>();
  readonly #detach: () => void;
  readonly #decisions = new SubscriptionDecisions(DECISION_TTL_MS);
  #heartbeat: NodeJS.Timeout | undefined;
  #listeners = 0;
  #closing = false;
  readonly #counters = { slowConsumersClosed: 0, missedPongs: 0, overCapacityRefused: 0, messagesReceived: 0, eventsSent: 0 };

  constructor(options: {
    hub: RealtimeHub;
    limits: RealtimeLimits;
    topics: readonly TopicDefinition[];
    authenticator: RealtimeAuthenticator;
    logger: FastifyBaseLogger;
    metrics?: RealtimeMetrics;
  }) {
    this.#metrics = options.metrics;
    this.#limits = options.limits;
    this.#topicDefinitions = options.topics;
    this.#authenticator = options.authenticator;
    this.#logger = options.logger;
    this.#detach = options.hub.attach(this);
  }

  /** Takes an upgraded socket; over a capacity limit it is closed at once with 1013. */
  accept(socket: WebSocket, identity: RealtimeIdentity, requestId: string, log: FastifyBaseLogger): void {
    const refusal = this.#capacityRefusal(identity.userId);
    if (refusal) {
      this.#counters.overCapacityRefused += 1;
      this.#metrics?.dropped('over_capacity');
      log.info({ user_id: identity.userId, reason: refusal }, 'websocket refused: over capacity');
      socket.close(CLOSE.OVERLOADED, refusal);
      return;
    }
    const connection: Connection = {
      socket,
      identity,
      requestId,
      log,
      topics: new Set(),
      pending: new Set(),
      alive: true,
      protocolErrors: 0,
      windowStartedAt: 0,
      messagesInWindow: 0,
      expiryTimer: undefined,
      released: false,
      onMessage: (data, isBinary) => this.#receive(connection, data, isBinary),
      onPong: () => {
        connection.alive = true;
      },
      onClose: () => this.#release(connection),
    };
    socket.on('message', connection.onMessage);
    socket.on('pong', connection.onPong);
    socket.on('close', connection.onClose);
    this.#listeners += LISTENERS_PER_CONNECTION;
    this.#connections.add(connection);
    this.#metrics?.connectionOpened();
    this.#perAccount.set(identity.userId, (this.#perAccount.get(identity.userId) ?? 0) + 1);
    this.#bySession.add(identity.sessionId, connection);
    this.#armExpiry(connection);
    this.#heartbeat ??= setInterval(() => void this.#beat(), this.#limits.pingIntervalMs);
  }

  // --- what the hub delivers ---

  event(topic: string, frame: string): void {
    const subscribers = this.#byTopic.get(topic);
    if (!subscribers) return;
    // One buffer for every subscriber: ws frames it per socket without re-encoding.
    const data = Buffer.from(frame);
    const sentBefore = this.#counters.eventsSent;
    for (const connection of subscribers) this.#send(connection, data);
    // Counted once per broadcast: a metric call per socket would cost the fan-out loop.
    this.#metrics?.messageSent(this.#counters.eventsSent - sentBefore);
  }

  sessionsEnded(sessionIds: readonly string[]): void {
    for (const sessionId of sessionIds) {
      for (const connection of this.#bySession.get(sessionId) ?? []) this.#close(connection, CLOSE.SESSION_ENDED, 'session ended');
    }
  }

  // --- lifecycle ---

  /** Closes every socket with 1001 and waits (bounded) for the close frames to go out. */
  async closeAll(waitMs: number): Promise<void> {
    this.#closing = true;
    const sockets = [...this.#connections].map((connection) => connection.socket);
    for (const connection of [...this.#connections]) this.#close(connection, CLOSE.SHUTDOWN, 'server shutting down');
    const closed = sockets.map(
      (socket) => new Promise<void>((resolve) => (socket.readyState === socket.CLOSED ? resolve() : socket.once('close', () => resolve()))),
    );
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.all(closed), new Promise<void>((resolve) => (timer = setTimeout(resolve, waitMs)))]);
    clearTimeout(timer);
    for (const socket of sockets) if (socket.readyState !== socket.CLOSED) socket.terminate();
    this.#detach();
    this.#decisions.clear();
  }

  stats(): GatewayStats {
    let subscriptions = 0;
    let expiryTimers = 0;
    for (const connection of this.#connections) {
      subscriptions += connection.topics.size;
      if (connection.expiryTimer) expiryTimers += 1;
    }
    return {
      connections: this.#connections.size,
      subscriptions,
      topics: this.#byTopic.size,
      accounts: this.#perAccount.size,
      sessions: this.#bySession.size,
      timers: expiryTimers + (this.#heartbeat ? 1 : 0),
      listeners: this.#listeners,
      ...this.#counters,
    };
  }

  // --- inbound ---

  #receive(connection: Connection, data: RawData, isBinary: boolean): void {
    if (connection.released) return;
    this.#counters.messagesReceived += 1;
    this.#metrics?.messageReceived();
    if (!this.#withinRate(connection)) return;
    if (isBinary) {
      this.#protocolError(connection, 'VALIDATION_FAILED', 'Binary frames are not part of the protocol; send JSON text frames');
      return;
    }
    let op: ClientOp;
    try {
      op = parseClientFrame(data.toString());
    } catch (error) {
      if (!(error instanceof ProtocolError)) throw error;
      this.#protocolError(connection, error.code, error.message);
      return;
    }
    if (op.op === 'ping') this.#sendText(connection, PONG_FRAME);
    else if (op.op === 'unsubscribe') this.#unsubscribe(connection, op.topic);
    else void this.#subscribe(connection, op.topic);
  }

  /** A fixed one-second window per connection: no timer, two numbers. */
  #withinRate(connection: Connection): boolean {
    const now = Date.now();
    if (now - connection.windowStartedAt >= 1_000) {
      connection.windowStartedAt = now;
      connection.messagesInWindow = 0;
    }
    connection.messagesInWindow += 1;
    if (connection.messagesInWindow <= this.#limits.maxMessagesPerSecond) return true;
    if (connection.messagesInWindow > this.#limits.maxMessagesPerSecond * FLOOD_FACTOR) {
      connection.log.info({ user_id: connection.identity.userId }, 'websocket closed: message flood');
      this.#metrics?.dropped('message_flood');
      this.#close(connection, CLOSE.POLICY, 'message flood');
      return false;
    }
    // One error (and one strike) per second over the rate; the rest is dropped unread.
    if (connection.messagesInWindow === this.#limits.maxMessagesPerSecond + 1) {
      this.#protocolError(
        connection,
        'RATE_LIMITED',
        `At most ${this.#limits.maxMessagesPerSecond} messages per second; the rest were dropped`,
      );
    }
    return false;
  }

  #protocolError(connection: Connection, code: ErrorCode, message: string): void {
    connection.protocolErrors += 1;
    if (connection.protocolErrors > this.#limits.maxProtocolErrors) {
      connection.log.info({ user_id: connection.identity.userId }, 'websocket closed after repeated protocol errors');
      this.#metrics?.dropped('protocol_errors');
      this.#close(connection, CLOSE.POLICY, 'repeated protocol errors');
      return;
    }
    this.#sendText(connection, errorFrame(code, message, connection.requestId));
  }

  async #subscribe(connection: Connection, topic: string): Promise<void> {
    if (connection.topics.has(topic)) {
      this.#sendText(connection, subscribedFrame(topic));
      return;
    }
    if (connection.pending.has(topic)) return; // its answer is on the way
    if (connection.topics.size + connection.pending.size >= this.#limits.maxSubscriptions) {
      this.#sendText(
        connection,
        errorFrame('RATE_LIMITED', `At most ${this.#limits.maxSubscriptions} subscriptions per connection`, connection.requestId, topic),
      );
      return;
    }
    const definition = ownerOf(this.#topicDefinitions, topic);
    if (!definition) {
      this.#sendText(connection, errorFrame('NOT_FOUND', `No such topic: ${topic}`, connection.requestId, topic));
      return;
    }
    connection.pending.add(topic);
    let allowed: boolean;
    try {
      allowed = await this.#decisions.decide(definition, { userId: connection.identity.userId, role: connection.identity.role }, topic);
    } catch (error) {
      connection.pending.delete(topic);
      const { code, message } = reportFailure(error, connection.log, `could not check a subscription to ${topic}`);
      this.#sendText(connection, errorFrame(code, message, connection.requestId, topic));
      return;
    }
    connection.pending.delete(topic);
    if (connection.released) return;
    if (!allowed) {
      this.#sendText(connection, errorFrame('FORBIDDEN', `Not allowed to subscribe to ${topic}`, connection.requestId, topic));
      return;
    }
    connection.topics.add(topic);
    this.#byTopic.add(topic, connection);
    this.#sendText(connection, subscribedFrame(topic));
  }

  #unsubscribe(connection: Connection, topic: string): void {
    if (connection.topics.delete(topic)) this.#byTopic.remove(topic, connection);
    this.#sendText(connection, unsubscribedFrame(topic));
  }

  // --- outbound ---

  #sendText(connection: Connection, frame: string): void {
    this.#send(connection, Buffer.from(frame));
    this.#metrics?.messageSent();
  }

  #send(connection: Connection, data: Buffer): void {
    if (connection.released) return;
    // Checked before adding more: what one slow peer can hold is the bound plus one frame.
    if (connection.socket.bufferedAmount > this.#limits.maxBufferedBytes) {
      this.#counters.slowConsumersClosed += 1;
      this.#metrics?.dropped('slow_consumer');
      connection.log.info(
        { user_id: connection.identity.userId, buffered: connection.socket.bufferedAmount },
        'slow websocket consumer closed',
      );
      this.#close(connection, CLOSE.OVERLOADED, 'slow consumer');
      return;
    }
    this.#counters.eventsSent += 1;
    connection.socket.send(data, { binary: false });
  }

  // --- sessions and heartbeat ---

  #armExpiry(connection: Connection): void {
    clearTimeout(connection.expiryTimer);
    const delay = Math.min(MAX_TIMER_MS, Math.max(0, connection.identity.expiresAt.getTime() - Date.now()));
    connection.expiryTimer = setTimeout(() => void this.#checkExpiry(connection), delay);
  }

  async #checkExpiry(connection: Connection): Promise<void> {
    connection.expiryTimer = undefined;
    const live = await this.#liveSessions([connection.identity.sessionId]);
    if (connection.released || !live) {
      if (!connection.released) connection.expiryTimer = setTimeout(() => void this.#checkExpiry(connection), 1_000);
      return;
    }
    const session = live.get(connection.identity.sessionId);
    if (!session || session.expiresAt.getTime() <= Date.now()) {
      this.#close(connection, CLOSE.SESSION_ENDED, 'session expired');
      return;
    }
    connection.identity.expiresAt = session.expiresAt; // its idle expiry moved with HTTP use
    this.#armExpiry(connection);
  }

  /** Pings every peer (terminating those that missed the last pong) and re-checks every session. */
  async #beat(): Promise<void> {
    for (const connection of [...this.#connections]) {
      if (!connection.alive) {
        this.#counters.missedPongs += 1;
        this.#metrics?.dropped('missed_pong');
        connection.log.info({ user_id: connection.identity.userId }, 'websocket peer missed a pong; terminated');
        this.#release(connection);
        connection.socket.terminate();
        continue;
      }
      connection.alive = false;
      connection.socket.ping();
    }
    // A session end published while Redis was down never arrived: this catches it within a beat.
    const live = await this.#liveSessions([...this.#bySession.keys()]);
    if (!live) return;
    for (const connection of [...this.#connections]) {
      const session = live.get(connection.identity.sessionId);
      if (!session) this.#close(connection, CLOSE.SESSION_ENDED, 'session ended');
      else if (session.role !== connection.identity.role) this.#close(connection, CLOSE.POLICY, 'role changed; reconnect');
    }
  }

  async #liveSessions(sessionIds: string[]): Promise<Map<string, { expiresAt: Date; role: string }> | undefined> {
    if (sessionIds.length === 0) return new Map();
    try {
      return await this.#authenticator.liveSessions(sessionIds);
    } catch (error) {
      reportFailure(error, this.#logger, 'could not re-check websocket sessions'); // the next beat tries again
      return undefined;
    }
  }

  // --- closing ---

  #capacityRefusal(userId: string): string | undefined {
    if (this.#closing) return 'server shutting down';
    if (this.#connections.size >= this.#limits.maxConnections) return 'over capacity: too many connections on this server';
    if ((this.#perAccount.get(userId) ?? 0) >= this.#limits.maxConnectionsPerAccount)
      return 'over capacity: too many connections for this account';
    return undefined;
  }

  #close(connection: Connection, code: number, reason: string): void {
    if (connection.released) return;
    this.#release(connection);
    connection.socket.close(code, reason);
  }

  /** Gives back everything a connection holds; idempotent. */
  #release(connection: Connection): void {
    if (connection.released) return;
    connection.released = true;
    clearTimeout(connection.expiryTimer);
    connection.expiryTimer = undefined;
    const { socket } = connection;
    socket.off('message', connection.onMessage);
    socket.off('pong', connection.onPong);
    socket.off('close', connection.onClose);
    this.#listeners -= LISTENERS_PER_CONNECTION;
    for (const topic of connection.topics) this.#byTopic.remove(topic, connection);
    connection.topics.clear();
    connection.pending.clear();
    this.#bySession.remove(connection.identity.sessionId, connection);
    const count = (this.#perAccount.get(connection.identity.userId) ?? 1) - 1;
    if (count > 0) this.#perAccount.set(connection.identity.userId, count);
    else this.#perAccount.delete(connection.identity.userId);
    this.#connections.delete(connection);
    this.#metrics?.connectionClosed();
    if (this.#connections.size === 0 && this.#heartbeat) {
      clearInterval(this.#heartbeat);
      this.#heartbeat = undefined;
    }
  }
}
