// The security header set every response must carry (errors and 404s included).
import { expect } from 'vitest';

type Headers = Record<string, string | string[] | number | undefined>;

export function expectSecurityHeaders(headers: Headers, options: { production?: boolean } = {}): void {
  expect(headers['content-security-policy']).toBe(
    "default-src 'self';object-src 'none';frame-ancestors 'none';form-action 'self';base-uri 'self'",
  );
  expect(headers['x-content-type-options']).toBe('nosniff');
  expect(headers['x-frame-options']).toBe('DENY');
  expect(headers['referrer-policy']).toBe('strict-origin-when-cross-origin');
  expect(headers['cross-origin-opener-policy']).toBe('same-origin');
  expect(headers['cross-origin-resource-policy']).toBe('same-origin');
  expect(headers['x-xss-protection']).toBe('0');
  expect(String(headers['permissions-policy'])).toMatch(/camera=\(\).*geolocation=\(\).*microphone=\(\)/);
  expect(headers['x-request-id']).toBeTruthy();
  if (options.production) expect(headers['strict-transport-security']).toBe('max-age=31536000; includeSubDomains');
  else expect(headers['strict-transport-security']).toBeUndefined();
}
