// A bounded in-process LRU of rendered HTML, keyed by the SHA-256 of the renderer version
// and the task, and bounded by the bytes it holds.
import { createHash } from 'node:crypto';
import { RENDERER_VERSION, type RenderTask } from './renderer.ts';

/** The cache key (and the hash in ETags) of a task under this renderer version. */
export function renderKey(task: RenderTask): string {
  const hash = createHash('sha256').update(RENDERER_VERSION).update('\0').update(task.kind).update('\0');
  if (task.kind === 'code') hash.update(task.language ?? '').update('\0');
  return hash.update(task.text).digest('base64url');
}

export class RenderCache {
  readonly #maxBytes: number;
  // A Map iterates in insertion order: the first key is the least recently used.
  readonly #entries = new Map<string, string>();
  #bytes = 0;

  constructor(maxBytes: number) {
    this.#maxBytes = maxBytes;
  }

  get(key: string): string | undefined {
    const html = this.#entries.get(key);
    if (html === undefined) return undefined;
    this.#entries.delete(key);
    this.#entries.set(key, html);
    return html;
  }

  set(key: string, html: string): void {
    const size = html.length * 2 + key.length * 2;
    if (size > this.#maxBytes) return; // never evict everything for one huge page
    const old = this.#entries.get(key);
    if (old !== undefined) {
      this.#entries.delete(key);
      this.#bytes -= old.length * 2 + key.length * 2;
    }
    this.#entries.set(key, html);
    this.#bytes += size;
    for (const [oldest, value] of this.#entries) {
      if (this.#bytes <= this.#maxBytes) break;
      this.#entries.delete(oldest);
      this.#bytes -= value.length * 2 + oldest.length * 2;
    }
  }

  get stats(): { entries: number; bytes: number } {
    return { entries: this.#entries.size, bytes: this.#bytes };
  }
}
