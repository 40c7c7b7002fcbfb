import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectSecurityHeaders } from '../../helpers/expect-headers.ts';
import { startTestApp, type TestApp } from '../../helpers/test-app.ts';

describe('load shedding', () => {
  let t: TestApp;
  beforeAll(async () => {
    // Any live heap is above 1 KiB: the process counts as overloaded from its first sample on.
    t = await startTestApp('embedded', { env: { OVERLOAD_MAX_HEAP_USED: '1kb' } });
  });
  afterAll(() => t.close());

  it('answers 503 UNAVAILABLE with Retry-After and the full header set once the heap passes its threshold', async () => {
    let response = await t.app.inject({ url: '/health/live' });
    for (let attempt = 0; attempt < 50 && response.statusCode !== 503; attempt += 1) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      response = await t.app.inject({ url: '/health/live' });
    }
    expect(response.statusCode).toBe(503);
    expect(response.json()).toMatchObject({ error_code: 'UNAVAILABLE', request_id: response.headers['x-request-id'] });
    expect(response.headers['retry-after']).toBe('5');
    expectSecurityHeaders(response.headers);
    const apiCall = await t.app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { email: 'a@b.c', password: 'x' } });
    expect(apiCall.statusCode).toBe(503);
  });
});
