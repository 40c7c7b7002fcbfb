// Session tokens after Lucia's guide: a 256-bit CSPRNG secret goes to the client,
// only its SHA-256 is stored, and the stored hash is compared in constant time.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

export function generateSessionToken(): string {
  return randomBytes(32).toString('base64url');
}

export function hashSessionToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

export function sessionTokenMatches(token: string, storedHash: string): boolean {
  const presented = Buffer.from(hashSessionToken(token), 'hex');
  const stored = Buffer.from(storedHash, 'hex');
  return presented.length === stored.length && timingSafeEqual(presented, stored);
}

/** A token has the exact shape we issue: 43 base64url characters. Anything else is rejected before a query. */
export function isWellFormedToken(value: string): boolean {
  return /^[A-Za-z0-9_-]{43}$/.test(value);
}
