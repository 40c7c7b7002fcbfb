// Graceful close: in-flight requests finish, keep-alive connections close, nothing new is accepted.
import type { AddressInfo } from 'node:net';
import { setTimeout as pause } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { rawExchange } from '../helpers/raw-http.ts';
import { startTestApp, type TestApp } from '../helpers/test-app.ts';

/** A listening app with a route that answers after 400 ms, to close while it is in flight. */
async function startWithSlowRoute(): Promise<{ t: TestApp; port: number }> {
  const t = await startTestApp('embedded', {
    extend(app) {
      app.get('/api/v1/test/slow', async () => {
        await pause(400);
        return { finished: true };
      });
    },
  });
  await t.app.listen({ host: '127.0.0.1', port: 0 });
  return { t, port: (t.app.server.address() as AddressInfo).port };
}

describe('graceful close', () => {
  it('stops accepting but lets an in-flight request finish', async () => {
    const { t, port } = await startWithSlowRoute();
    const inFlight = fetch(`http://127.0.0.1:${port}/api/v1/test/slow`);
    await pause(100);
    const closing = t.close();
    const response = await inFlight;
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ finished: true });
    await closing;
    await expect(fetch(`http://127.0.0.1:${port}/health/live`)).rejects.toThrow();
  });

  it('closes the keep-alive connection of a request answered while draining', async () => {
    const { t, port } = await startWithSlowRoute();
    // HTTP/1.1 keeps the connection open by default; the exchange ends only when the server closes it.
    const exchange = rawExchange(port, ['GET /api/v1/test/slow HTTP/1.1\r\nHost: localhost\r\n\r\n'], { timeoutMs: 5_000 });
    await pause(100);
    const closing = t.close();
    const response = await exchange;
    expect(response.status).toBe(200);
    expect(response.headers.connection).toBe('close');
    expect(response.elapsedMs).toBeLessThan(2_000);
    await closing;
  });
});
