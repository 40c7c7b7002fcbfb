// Realtime across real processes: an event published by a job on one `serve` process
// reaches a subscriber on another, a logout on one closes the socket on the other, SIGTERM
// closes sockets with 1001 and exits 0, and the typed client reconnects and re-subscribes.
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { type RealtimeClient as Client, RealtimeClient, type RealtimeEvent } from '../../../src/platform/realtime/client.ts';
import { GOOD_PASSWORD, uniqueEmail } from '../../helpers/accounts.ts';
import { freePort, type RunningProcess, startCli, waitFor, waitForHttp } from '../../helpers/processes.ts';
import { createTestDatabase, scaleUrls, type TestDatabase } from '../../helpers/shapes.ts';
import { openSocket } from '../../helpers/sockets.ts';

interface Server {
  process: RunningProcess;
  port: number;
  base: string;
  ws: string;
}

async function startServer(env: Record<string, string>, port?: number): Promise<Server> {
  const chosen = port ?? (await freePort());
  const process = startCli(['serve'], { ...env, PORT: String(chosen), LOG_LEVEL: 'warn' });
  const base = `http://127.0.0.1:${chosen}`;
  await waitForHttp(`${base}/health/live`);
  await waitFor(async () => ((await fetch(`${base}/health/ready`)).status === 200 ? true : undefined));
  return { process, port: chosen, base, ws: `ws://127.0.0.1:${chosen}/api/v1/ws` };
}

async function api(base: string, path: string, body: object, token?: string): Promise<Record<string, unknown>> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (token) headers.authorization = `Bearer ${token}`;
  const response = await fetch(`${base}/api/v1${path}`, { method: 'POST', headers, body: JSON.stringify(body) });
  if (response.status >= 300) throw new Error(`${path}: ${response.status} ${await response.text()}`);
  const text = await response.text();
  return { ...(text ? JSON.parse(text) : {}), request_id: response.headers.get('x-request-id') };
}

async function signUp(base: string): Promise<string> {
  const email = uniqueEmail('rt');
  await api(base, '/auth/register', { email, password: GOOD_PASSWORD, display_name: 'R' });
  return (await api(base, '/auth/login', { email, password: GOOD_PASSWORD })).token as string;
}

async function stop(server: Server, signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
  server.process.child.kill(signal);
  return server.process.exited;
}

describe.runIf(scaleUrls)('realtime across two serve processes (scale)', () => {
  let database: TestDatabase;
  let env: Record<string, string>;
  let a: Server;
  let b: Server;

  beforeAll(async () => {
    database = await createTestDatabase();
    env = {
      DATABASE_URL: database.url,
      REDIS_URL: scaleUrls?.redis ?? '',
      REDIS_KEY_PREFIX: `t${randomBytes(4).toString('hex')}:`,
      AUTH_RATE_LIMIT_PER_MINUTE: '1000',
      JOB_POLL_INTERVAL_SECONDS: '1',
      JOB_NOTIFY_POLL_INTERVAL_SECONDS: '1',
    };
    // Only B runs jobs, so what a job publishes reaches A's sockets through Redis alone.
    b = await startServer(env);
    a = await startServer({ ...env, IN_PROCESS_WORKER: 'false' });
  });

  afterAll(async () => {
    for (const server of [a, b]) if (server && server.process.child.exitCode === null) await stop(server);
    await database?.drop();
  });

  it('reports the fan-out channel in readiness', async () => {
    const ready = (await (await fetch(`${a.base}/health/ready`)).json()) as { components: Record<string, unknown> };
    expect(JSON.stringify(ready)).toContain('realtime_fanout');
  });

  it('delivers an event published on B (its parse job) to a subscriber on A, with the upload request id', async () => {
    const token = await signUp(a.base);
    const project = (await api(a.base, '/projects', { name: 'x' }, token)).project as { id: string };
    const socket = await openSocket(a.ws, { authorization: `Bearer ${token}` });
    socket.send({ op: 'subscribe', topic: `documents:${project.id}` });
    await socket.next((frame) => frame.op === 'subscribed');
    const upload = await api(b.base, `/projects/${project.id}/documents`, { path: 'a.ts', content: 'let a = 1;\n' }, token);
    const event = await socket.next((frame) => frame.op === 'event');
    expect(event).toMatchObject({ event: 'document.ready', request_id: upload.request_id });
    socket.ws.close();
  });

  it('a logout on B closes the session’s socket on A with 4401', async () => {
    const token = await signUp(a.base);
    const socket = await openSocket(a.ws, { authorization: `Bearer ${token}` });
    const started = Date.now();
    await api(b.base, '/auth/logout', {}, token);
    expect((await socket.closed).code).toBe(4401);
    // One Redis pub/sub hop; the bound is loose for a loaded machine (the target is 1 s).
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('the client reconnects with backoff after B restarts, re-subscribes, and receives again', async () => {
    const token = await signUp(a.base);
    const project = (await api(a.base, '/projects', { name: 'y' }, token)).project as { id: string };
    const client: Client = new RealtimeClient({
      connect: () => new WebSocket(b.ws, { headers: { authorization: `Bearer ${token}` } }),
      minReconnectDelayMs: 100,
      maxReconnectDelayMs: 1_000,
    });
    const events: RealtimeEvent[] = [];
    const closes: number[] = [];
    client.onEvent((event) => events.push(event));
    client.onStateChange((_state, close) => close && closes.push(close.code));
    await client.subscribe(`documents:${project.id}`);
    expect(await stop(b)).toBe(0);
    expect(closes).toContain(1001);
    b = await startServer(env, b.port);
    await waitFor(async () => (client.state === 'open' ? true : undefined));
    // The re-subscription travels right after the reconnect: upload until an event shows it is back.
    let attempt = 0;
    await waitFor(async () => {
      attempt += 1;
      await api(a.base, `/projects/${project.id}/documents`, { path: `f${attempt}.ts`, content: `let v = ${attempt};\n` }, token);
      await new Promise((resolve) => setTimeout(resolve, 500));
      return events.some((event) => event.event === 'document.ready') ? true : undefined;
    });
    client.close();
  });
});

describe('SIGTERM closes sockets with 1001 (embedded, a real process)', () => {
  it('closes an open socket with 1001 and exits 0', async () => {
    const server = await startServer({ DATA_DIR: mkdtempSync(join(tmpdir(), 'rampart-rt-')) });
    try {
      const token = await signUp(server.base);
      const socket = await openSocket(server.ws, { authorization: `Bearer ${token}` });
      expect(await stop(server)).toBe(0);
      expect((await socket.closed).code).toBe(1001);
    } finally {
      if (server.process.child.exitCode === null) await stop(server, 'SIGKILL');
    }
  });
});
