// The embedded shape's read cache never serves a row that a write has changed.
import { describe, expect, it } from 'vitest';
import { cachedRead, SingleWriterCache } from '../../../src/platform/db/single-writer-cache.ts';

const options = { maxEntries: 2, maxAgeMs: 60_000 };

describe('single-writer cache', () => {
  it('keeps what a read returned, until a write', async () => {
    const cache = new SingleWriterCache<string>(options);
    let reads = 0;
    const read = () => cachedRead(cache, 'k', async () => `v${++reads}`);
    expect([await read(), await read()]).toEqual(['v1', 'v1']);
    await cache.writing(async () => {});
    expect(await read()).toBe('v2');
  });

  it('drops what a read returned if a write began or ended while it ran', async () => {
    const cache = new SingleWriterCache<string>(options);
    let release: (value: string) => void = () => {};
    const slowRead = cachedRead(cache, 'k', () => new Promise<string>((resolve) => (release = resolve)));
    await cache.writing(async () => {}); // a logout while the lookup is still in flight
    release('before the write');
    expect(await slowRead).toBe('before the write');
    expect(cache.get('k')).toBeUndefined();
  });

  it('holds at most maxEntries, dropping the oldest', () => {
    const cache = new SingleWriterCache<string>(options);
    for (const key of ['a', 'b', 'c']) cache.set(key, key, cache.generation());
    expect([cache.get('a'), cache.get('b'), cache.get('c')]).toEqual([undefined, 'b', 'c']);
  });
});
