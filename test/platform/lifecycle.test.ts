import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { rawExchange } from '../helpers/raw-http.ts';
import { startTestApp } from '../helpers/test-app.ts';

describe('graceful close', () => {
  it('stops accepting but lets an in-flight request finish', async () => {
    const t = await startTestApp('embedded', {
      extend(app) {
        app.get('/api/v1/test/slow', async () => {
          await new Promise((resolve) => setTimeout(resolve, 400));
          return { finished: true };
        });
      },
    });
    await t.app.listen({ host: '127.0.0.1', port: 0 });
    const { port } = t.app.server.address() as AddressInfo;
    const inFlight = fetch(`http://127.0.0.1:${port}/api/v1/test/slow`);
    await new Promise((resolve) => setTimeout(resolve, 100));
    const closing = t.close();
    const response = await inFlight;
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ finished: true });
    await closing;
    await expect(fetch(`http://127.0.0.1:${port}/health/live`)).rejects.toThrow();
  });

  it('closes the keep-alive connection of a request answered while draining', async () => {
    const t = await startTestApp('embedded', {
      extend(app) {
        app.get('/api/v1/test/slow', async () => {
          await new Promise((resolve) => setTimeout(resolve, 400));
          return { finished: true };
        });
      },
    });
    await t.app.listen({ host: '127.0.0.1', port: 0 });
    const { port } = t.app.server.address() as AddressInfo;
    // HTTP/1.1 keeps the connection open by default; the exchange ends only when the server closes it.
    const exchange = rawExchange(port, ['GET /api/v1/test/slow HTTP/1.1\r\nHost: localhost\r\n\r\n'], { timeoutMs: 5_000 });
    await new Promise((resolve) => setTimeout(resolve, 100));
    const closing = t.close();
    const response = await exchange;
    expect(response.status).toBe(200);
    expect(response.headers.connection).toBe('close');
    expect(response.elapsedMs).toBeLessThan(2_000);
    await closing;
  });
});
