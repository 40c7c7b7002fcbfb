// Graceful close: in-flight requests finish, keep-alive connections close, nothing new is accepted.
import type { AddressInfo } from 'node:net';
import { setTimeout as pause } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
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
});
