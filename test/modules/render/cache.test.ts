// The in-process render cache: least recently used out first, bounded by bytes, keyed by task and renderer version.
import { describe, expect, it } from 'vitest';
import { RenderCache, renderKey } from '../../../src/modules/render/cache.ts';

describe('render cache', () => {
  it('evicts the least recently used entries past its byte bound', () => {
    const cache = new RenderCache(600);
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
    const cache = new RenderCache(100);
    cache.set('big', 'x'.repeat(1000));
    expect(cache.stats).toEqual({ entries: 0, bytes: 0 });
  });

  it('keys by kind, language and text', () => {
    const keys = new Set([
      renderKey({ kind: 'markdown', text: 'a' }),
      renderKey({ kind: 'code', text: 'a', language: null }),
      renderKey({ kind: 'code', text: 'a', language: 'sql' }),
      renderKey({ kind: 'markdown', text: 'b' }),
    ]);
    expect(keys.size).toBe(4);
    expect(renderKey({ kind: 'markdown', text: 'a' })).toBe(renderKey({ kind: 'markdown', text: 'a' }));
  });
});
