import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
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
});
