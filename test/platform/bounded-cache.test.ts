// The byte-bounded LRU behind the render and document content caches: least recently used out
// first, bounded by bytes, never one value larger than the whole cache.
import { describe, expect, it } from 'vitest';
import { ByteBoundedCache } from '../../src/platform/bounded-cache.ts';

describe('ByteBoundedCache', () => {
  it('evicts the least recently used entries past its byte bound', () => {
    const cache = new ByteBoundedCache(600);
    cache.set('a', 'x'.repeat(100));
    cache.set('b', 'y'.repeat(100));
    expect(cache.get('a')).toBe('x'.repeat(100)); // a is now the most recent
    cache.set('c', 'z'.repeat(100));
    expect(cache.get('b')).toBeUndefined();
    expect(cache.get('a')).toBeDefined();
    expect(cache.get('c')).toBeDefined();
    expect(cache.stats.bytes).toBeLessThanOrEqual(600);
    cache.set('c', 'w'.repeat(10)); // replacing an entry counts its new size only
    expect(cache.stats).toEqual({ entries: 2, bytes: 2 * (100 + 1) + 2 * (10 + 1) });
  });

  it('never stores an entry larger than the whole cache', () => {
    const cache = new ByteBoundedCache(100);
    cache.set('big', 'x'.repeat(1000));
    expect(cache.stats).toEqual({ entries: 0, bytes: 0 });
  });

  it('forgets a deleted entry and its bytes', () => {
    const cache = new ByteBoundedCache(1000);
    cache.set('a', 'x'.repeat(100));
    cache.set('b', 'y'.repeat(10));
    cache.delete('a');
    cache.delete('missing');
    expect(cache.get('a')).toBeUndefined();
    expect(cache.stats).toEqual({ entries: 1, bytes: 2 * (1 + 10) });
  });

  it('counts a Buffer by its length in bytes', () => {
    const cache = new ByteBoundedCache<Buffer>(2 * 2 + 2 * 100);
    cache.set('a', Buffer.alloc(100));
    cache.set('b', Buffer.alloc(100));
    expect(cache.stats).toEqual({ entries: 2, bytes: 2 * (2 + 100) });
    cache.set('c', Buffer.alloc(100));
    expect(cache.get('a')).toBeUndefined();
    expect(cache.get('c')?.byteLength).toBe(100);
  });

  it('holds a small Buffer in memory of its own, not the shared pool slab it was cut from', () => {
    const cache = new ByteBoundedCache<Buffer>(1000);
    const pooled = Buffer.from('"a short text"');
    expect(pooled.buffer.byteLength).toBeGreaterThan(pooled.byteLength);
    cache.set('a', pooled);
    const held = cache.get('a') as Buffer;
    expect(held.buffer.byteLength).toBe(pooled.byteLength);
    expect(held.toString()).toBe('"a short text"');
  });

  it('keeps nothing with a bound of 0', () => {
    const cache = new ByteBoundedCache(0);
    cache.set('a', 'x');
    expect(cache.get('a')).toBeUndefined();
  });
});
