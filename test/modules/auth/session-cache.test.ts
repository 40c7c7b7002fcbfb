// The embedded shape's session cache never serves a session a write has ended.
import { describe, expect, it } from 'vitest';
import type { SessionRow, UserRow } from '../../../src/modules/auth/repo.ts';
import { SessionCache } from '../../../src/modules/auth/session-cache.ts';

const entry = { session: { id: 's1' } as SessionRow, user: { id: 'u1' } as UserRow };

describe('session cache', () => {
  it('keeps what a lookup read, until a write to users or sessions', () => {
    const cache = new SessionCache();
    cache.set('hash', entry, cache.generation());
    expect(cache.get('hash')).toBe(entry);
    cache.invalidate();
    expect(cache.get('hash')).toBeUndefined();
  });

  it('drops what a lookup read if a write began or ended while it ran', () => {
    const cache = new SessionCache();
    const readAt = cache.generation();
    cache.invalidate(); // a logout starts while the lookup is still in flight
    cache.set('hash', entry, readAt);
    expect(cache.get('hash')).toBeUndefined();
  });
});
