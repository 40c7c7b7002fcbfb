// Graceful close: in-flight requests finish, keep-alive connections close, nothing new is accepted;
// and the SIGTERM drain window before it: still serving, not ready, every answer closing its connection.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as pause } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { drainThenClose } from '../../src/platform/http/draining.ts';
import { rawExchange } from '../helpers/raw-http.ts';
import { startTestApp, type TestApp } from '../helpers/test-app.ts';

/**
 * A listening app with a route that answers 400 ms after it is reached, to close while it
 * is in flight; `arrived` resolves when it is reached (no guessing on a loaded machine).
 */
async function startWithSlowRoute(): Promise<{ t: TestApp; port: number; arrived: Promise<void> }> {
  let reached = () => {};
  const arrived = new Promise<void>((resolve) => {
    reached = resolve;
  });
  const t = await startTestApp('embedded', {
    extend(app) {
      app.get('/api/v1/test/slow', async () => {
        reached();
        await pause(400);
        return { finished: true };
      });
    },
  });
  await t.app.listen({ host: '127.0.0.1', port: 0 });
  return { t, port: (t.app.server.address() as AddressInfo).port, arrived };
}

describe('graceful close', () => {
  it('stops accepting but lets an in-flight request finish', async () => {
    const { t, port, arrived } = await startWithSlowRoute();
    const inFlight = fetch(`http://127.0.0.1:${port}/api/v1/test/slow`);
    await arrived;
    const closing = t.close();
    const response = await inFlight;
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ finished: true });
    await closing;
    await expect(fetch(`http://127.0.0.1:${port}/health/live`)).rejects.toThrow();
  });

  it('closes the keep-alive connection of a request answered while draining', async () => {
    const { t, port, arrived } = await startWithSlowRoute();
    // HTTP/1.1 keeps the connection open by default; the exchange ends only when the server closes it.
    const exchange = rawExchange(port, ['GET /api/v1/test/slow HTTP/1.1\r\nHost: localhost\r\n\r\n'], { timeoutMs: 30_000 });
    await arrived;
    const closing = t.close();
    const response = await exchange;
    expect(response.status).toBe(200);
    expect(response.headers.connection).toBe('close');
    // Far below the 72 s keep-alive timeout it would otherwise wait for; loose for a loaded machine.
    expect(response.elapsedMs).toBeLessThan(10_000);
    await closing;
  });

  it('answers a request that reaches the closing server on a connection still open, not with a bare 503', async () => {
    const { t, port, arrived } = await startWithSlowRoute();
    const slow = fetch(`http://127.0.0.1:${port}/api/v1/test/slow`);
    await arrived;
    // Headers begun before the close, finished after it: the connection is not idle, so it stays open.
    const late = rawExchange(port, ['GET /health/live HTTP/1.1\r\nHost: localhost\r\n', '\r\n'], { gapMs: 300, timeoutMs: 30_000 });
    await pause(100);
    const closing = t.close();
    const response = await late;
    expect(response.status).toBe(200);
    expect(JSON.parse(response.body)).toEqual({ status: 'live' });
    expect(response.headers.connection).toBe('close');
    expect((await slow).status).toBe(200);
    await closing;
  });
});

/** GET over a given agent: status, Connection header, body, and whether the socket was a kept-alive one. */
function getOver(agent: http.Agent, port: number, path: string) {
  return new Promise<{ status: number; connection: string | undefined; body: string; reusedSocket: boolean }>((resolve, reject) => {
    const request = http.get({ agent, host: '127.0.0.1', port, path }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => {
        body += chunk;
      });
      response.on('end', () =>
        resolve({ status: response.statusCode ?? 0, connection: response.headers.connection, body, reusedSocket: request.reusedSocket }),
      );
    });
    request.on('error', reject);
  });
}

describe('the drain window before a SIGTERM close', () => {
  it('keeps serving, reports not ready, and closes every connection after its answer, kept-alive idle ones included', async () => {
    const { t, port, arrived } = await startWithSlowRoute();
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const before = await getOver(agent, port, '/health/ready');
      expect(before.status).toBe(200);
      expect(before.connection).toBe('keep-alive');
      const inFlight = getOver(new http.Agent({ keepAlive: true }), port, '/api/v1/test/slow');
      await arrived;
      // Long enough that every request below lands inside it however slow the machine; the
      // close comes only after them, whatever the window's length.
      const draining = t.app.drainForShutdown(2_000);
      // The idle kept-alive connection is still there and is answered, not reset.
      const idleReused = await getOver(agent, port, '/health/live');
      expect(idleReused).toMatchObject({ status: 200, connection: 'close', reusedSocket: true });
      const ready = await getOver(agent, port, '/health/ready');
      expect(ready.status).toBe(503);
      expect(ready.connection).toBe('close');
      expect(JSON.parse(ready.body)).toMatchObject({ status: 'not_ready', checks: { shutdown: { status: 'error' } } });
      // Answered during the window, though it started before it.
      expect(await inFlight).toMatchObject({ status: 200, connection: 'close' });
      await draining;
      await t.close();
      await expect(fetch(`http://127.0.0.1:${port}/health/live`)).rejects.toThrow();
    } finally {
      agent.destroy();
    }
  });

  it('is skipped on SIGINT: a person at a terminal stops the process at once', async () => {
    const { t, port } = await startWithSlowRoute();
    const started = performance.now();
    await drainThenClose(t.app, 'SIGINT', 300_000);
    expect(performance.now() - started).toBeLessThan(60_000);
    await expect(fetch(`http://127.0.0.1:${port}/health/live`)).rejects.toThrow();
    await t.close();
  });
});
