// Session tokens: a 256-bit CSPRNG secret goes to the client and only its SHA-256 is
// stored; a session is found by that hash. No constant-time compare is needed: the lookup's
// timing can only tell an attacker about the SHA-256 of what they sent, never about a
// stored token, and a hash they could learn is of no use without a preimage of a 256-bit
// secret (README, "Accounts and sessions").
import { createHash, randomBytes } from 'node:crypto';

export function generateSessionToken(): string {
  return randomBytes(32).toString('base64url');
}

export function hashSessionToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** A token has the exact shape we issue: 43 base64url characters. Anything else is rejected before a query. */
export function isWellFormedToken(value: string): boolean {
  return /^[A-Za-z0-9_-]{43}$/.test(value);
}
