// Load shedding: 503 UNAVAILABLE with Retry-After and the full header set past a threshold.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectSecurityHeaders } from '../../helpers/expect-headers.ts';
import { waitFor } from '../../helpers/processes.ts';
import { startTestApp, type TestApp } from '../../helpers/test-app.ts';

describe('load shedding', () => {
  let t: TestApp;
  beforeAll(async () => {
    // Any live heap is above 1 KiB: the process counts as overloaded from its first sample on.
    t = await startTestApp('embedded', { env: { OVERLOAD_MAX_HEAP_USED: '1kb' } });
  });
  afterAll(() => t.close());

  it('answers 503 UNAVAILABLE with Retry-After and the full header set once the heap passes its threshold', async () => {
    // under-pressure samples the heap once a second; shedding starts with the first sample.
    const response = await waitFor(async () => {
      const answer = await t.app.inject({ url: '/health/live' });
      return answer.statusCode === 503 ? answer : undefined;
    }, 5_000);
    expect(response.statusCode).toBe(503);
    expect(response.json()).toMatchObject({ error_code: 'UNAVAILABLE', request_id: response.headers['x-request-id'] });
    expect(response.headers['retry-after']).toBe('5');
    expectSecurityHeaders(response.headers);
    const apiCall = await t.app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { email: 'a@b.c', password: 'x' } });
    expect(apiCall.statusCode).toBe(503);
  });
});
