// A least-recently-used in-process cache of strings or bytes, bounded by the bytes it holds
// (a string's two per UTF-16 unit, a Buffer's length, the key's included). The render cache
// (rendered HTML) and the document content cache (a blob's text, JSON-encoded, by its SHA-256)
// are both one of these.
export class ByteBoundedCache<Value extends string | Buffer = string> {
  readonly #maxBytes: number;
  // A Map iterates in insertion order: the first key is the least recently used.
  readonly #entries = new Map<string, Value>();
  #bytes = 0;

  /** `maxBytes` 0 keeps nothing. */
  constructor(maxBytes: number) {
    this.#maxBytes = maxBytes;
  }

  get(key: string): Value | undefined {
    const value = this.#entries.get(key);
    if (value === undefined) return undefined;
    this.#entries.delete(key);
    this.#entries.set(key, value);
    return value;
  }

  set(key: string, value: Value): void {
    const size = sizeOf(key, value);
    if (size > this.#maxBytes) return; // never evict everything for one huge value
    this.delete(key);
    this.#entries.set(key, ownMemory(value));
    this.#bytes += size;
    for (const [oldest, old] of this.#entries) {
      if (this.#bytes <= this.#maxBytes) break;
      this.#entries.delete(oldest);
      this.#bytes -= sizeOf(oldest, old);
    }
  }

  delete(key: string): void {
    const old = this.#entries.get(key);
    if (old === undefined) return;
    this.#entries.delete(key);
    this.#bytes -= sizeOf(key, old);
  }

  get stats(): { entries: number; bytes: number } {
    return { entries: this.#entries.size, bytes: this.#bytes };
  }
}

/**
 * A small Buffer is usually a view into Node's shared 8 KiB pool, which it keeps alive whole:
 * 20,000 cached JSON texts of a few hundred bytes held 24 times the bytes counted. A copy in
 * memory of its own makes the bound what is held.
 */
function ownMemory<Value extends string | Buffer>(value: Value): Value {
  if (typeof value === 'string' || value.byteLength === value.buffer.byteLength) return value;
  const copy = Buffer.allocUnsafeSlow(value.byteLength);
  value.copy(copy);
  return copy as Value;
}

function sizeOf(key: string, value: string | Buffer): number {
  return key.length * 2 + (typeof value === 'string' ? value.length * 2 : value.byteLength);
}
