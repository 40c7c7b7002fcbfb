// Baseline of the realtime bench: a bare `ws` server with no authentication, protocol or
// limits. Clients join a group by query string (`?group=small` or `?group=all`); every
// message on the Redis channel `<channel>` (`<group>\n<frame>`) is sent to that group's
// sockets, as the gateway sends an event to a topic's subscribers.
import { Redis } from 'ioredis';
import { type WebSocket, WebSocketServer } from 'ws';

const [port, redisUrl, channel] = process.argv.slice(2) as [string, string, string];
const groups = new Map<string, Set<WebSocket>>([
  ['small', new Set()],
  ['all', new Set()],
]);
const server = new WebSocketServer({ host: '127.0.0.1', port: Number(port), perMessageDeflate: false, clientTracking: false });
const listening = new Promise((resolve) => server.once('listening', resolve));
server.on('connection', (socket, request) => {
  const group = new URL(request.url ?? '/', 'http://x').searchParams.get('group') ?? 'all';
  const members = [...groups.entries()].filter(([name]) => name === 'all' || name === group).map(([, set]) => set);
  for (const set of members) set.add(socket);
  socket.on('close', () => {
    for (const set of members) set.delete(socket);
  });
});
const subscriber = new Redis(redisUrl);
subscriber.on('message', (_channel: string, message: string) => {
  const split = message.indexOf('\n');
  const data = Buffer.from(message.slice(split + 1));
  for (const socket of groups.get(message.slice(0, split)) ?? []) socket.send(data, { binary: false });
});
await subscriber.subscribe(channel);
await listening;
console.log('ready');
