// The UI's one WebSocket to /api/v1/ws (the session cookie authenticates the upgrade):
// topic subscriptions shared by every page, sent again after a reconnect, and the
// connection's state for the "live" indicators. Protocol: DESIGN.md, "Realtime".
import { useEffect, useRef, useState } from 'preact/hooks';
import { signedOut } from './api.ts';

export interface RealtimeEvent {
  topic: string;
  event: string;
  data: unknown;
  request_id: string;
  at: string;
}

export type LiveState = 'connecting' | 'live' | 'offline' | 'refused';

type Handler = (event: RealtimeEvent) => void;

const handlers = new Map<string, Set<Handler>>();
const topicStates = new Map<string, LiveState>();
const stateListeners = new Set<() => void>();
let socket: WebSocket | undefined;
let retryMs = 500;
let reconnectTimer: ReturnType<typeof setTimeout> | undefined;
let ended = false;

function setTopicState(topic: string, state: LiveState): void {
  topicStates.set(topic, state);
  for (const listener of stateListeners) listener();
}

function send(message: object): void {
  if (socket?.readyState === WebSocket.OPEN) socket.send(JSON.stringify(message));
}

function connect(): void {
  if (socket || ended) return;
  const url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/api/v1/ws`;
  const ws = new WebSocket(url);
  socket = ws;
  for (const topic of handlers.keys()) setTopicState(topic, 'connecting');
  ws.onopen = () => {
    retryMs = 500;
    for (const topic of handlers.keys()) send({ op: 'subscribe', topic });
  };
  ws.onmessage = (message) => {
    const frame = JSON.parse(String(message.data)) as { op: string; topic?: string } & Partial<RealtimeEvent>;
    if (frame.op === 'subscribed' && frame.topic) setTopicState(frame.topic, 'live');
    else if (frame.op === 'error' && frame.topic) setTopicState(frame.topic, 'refused');
    else if (frame.op === 'event' && frame.topic) for (const handler of handlers.get(frame.topic) ?? []) handler(frame as RealtimeEvent);
  };
  ws.onclose = (event) => {
    socket = undefined;
    for (const topic of handlers.keys()) setTopicState(topic, 'offline');
    if (event.code === 4401) {
      signedOut();
      return;
    }
    if (handlers.size === 0) return;
    // Back off up to 10 s; a restarted server is found again without a reload.
    reconnectTimer = setTimeout(connect, retryMs);
    retryMs = Math.min(retryMs * 2, 10_000);
  };
}

/** Listens to a topic until the returned function is called. */
export function subscribe(topic: string, handler: Handler): () => void {
  ended = false;
  let set = handlers.get(topic);
  if (!set) {
    set = new Set();
    handlers.set(topic, set);
    setTopicState(topic, 'connecting');
    send({ op: 'subscribe', topic });
  }
  set.add(handler);
  connect();
  return () => {
    const current = handlers.get(topic);
    current?.delete(handler);
    if (current?.size === 0) {
      handlers.delete(topic);
      topicStates.delete(topic);
      send({ op: 'unsubscribe', topic });
    }
  };
}

/** Closes the socket (sign-out); the next subscribe opens a new one. */
export function disconnect(): void {
  ended = true;
  clearTimeout(reconnectTimer);
  socket?.close(1000);
  socket = undefined;
}

/** Subscribes while the component is mounted; returns the topic's state for a "live" badge. */
export function useTopic(topic: string | undefined, handler: Handler): LiveState {
  const [state, setState] = useState<LiveState>('connecting');
  const latest = useRef(handler);
  latest.current = handler;
  useEffect(() => {
    if (!topic) return;
    const listener = () => setState(topicStates.get(topic) ?? 'connecting');
    stateListeners.add(listener);
    const unsubscribe = subscribe(topic, (event) => latest.current(event));
    listener();
    return () => {
      stateListeners.delete(listener);
      unsubscribe();
    };
  }, [topic]);
  return state;
}
