// The render cache key: one per kind, language and text under this renderer version.
import { describe, expect, it } from 'vitest';
import { renderKey } from '../../../src/modules/render/cache.ts';

describe('render cache key', () => {
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
