// The embedders' small parts on their own: the tokenizer's identifier splitting, the word
// table's file format and its refusals, and Retry-After in both of its forms.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { retryAfterMs } from '../../../src/modules/knowledge/embeddings/http-answer.ts';
import { embedText } from '../../../src/modules/knowledge/embeddings/local.ts';
import { decodeTable, encodeTable, readTableMetadata, TableFormatError } from '../../../src/modules/knowledge/embeddings/table.ts';
import { tokenize } from '../../../src/modules/knowledge/embeddings/tokens.ts';

const scratch = mkdtempSync(join(tmpdir(), 'rampart-table-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const metadata = { model: 'local:test@1', source: 'test', sourceVersion: '0.0.0', dimensions: 3, words: 3, derivation: {} };
const tiny = () =>
  encodeTable({
    metadata,
    commonComponent: Float32Array.from([0, 0, 1]),
    scales: Float32Array.from([0.5, 1, 2]),
    vectors: Int8Array.from([127, 0, 0, 0, 127, 0, 0, 0, 127]),
    words: ['cat', 'dog', 'café'],
  });

describe('tokenizer', () => {
  const none = () => false;
  it('splits identifiers at case changes, underscores and digits, and lower-cases', () => {
    expect(tokenize('parseHttpHeader', none)).toEqual(['parse', 'http', 'header']);
    expect(tokenize('max_retry_count MAX_RETRY_COUNT', none)).toEqual(['max', 'retry', 'count', 'max', 'retry', 'count']);
    expect(tokenize('HTTPServer getURL utf8Decode', none)).toEqual(['http', 'server', 'get', 'url', 'utf', 'decode']);
    expect(tokenize("The Café's menu, 2024!", none)).toEqual(['the', 'café', 's', 'menu']);
  });

  it('keeps a mixed-case word whole when the table knows it', () => {
    expect(tokenize('JavaScript WiFi', (word) => word === 'javascript')).toEqual(['javascript', 'wi', 'fi']);
  });
});

describe('word table file', () => {
  it('round-trips, and embeds with the SIF weights folded into the scales', () => {
    const table = decodeTable(tiny(), 'local:test@1');
    expect(table.metadata).toEqual(metadata);
    expect([...table.index]).toEqual([
      ['cat', 0],
      ['dog', 1],
      ['café', 2],
    ]);
    // cat (x) and dog (y): the common component (z) is orthogonal, so only the weights show.
    const vector = embedText(table, 'cat dog dog');
    expect(Array.from(vector).map((value) => value.toFixed(4))).toEqual(['0.2425', '0.9701', '0.0000']);
    // café lies along the common component: with it removed nothing is left, so its SIF sum is kept.
    expect(Array.from(embedText(table, 'Café'))).toEqual([0, 0, 1]);
  });

  it('refuses files that are not a usable table', () => {
    const bytes = tiny();
    expect(() => decodeTable(Buffer.from('RMPWTAB\0'))).toThrow(TableFormatError);
    expect(() => decodeTable(Buffer.from('something else entirely'))).toThrow(/wrong magic bytes/);
    expect(() => decodeTable(bytes.subarray(0, 30))).toThrow(/truncated/);
    expect(() => decodeTable(bytes.subarray(0, bytes.length - 40))).toThrow(/truncated/);
    expect(() => decodeTable(Buffer.concat([bytes, Buffer.from('\nextra')]))).toThrow(/lists 4 words, its header says 3/);
    const notJson = Buffer.from(bytes);
    notJson.write('#', 12);
    expect(() => decodeTable(notJson)).toThrow(/metadata is not JSON/);
    expect(() => decodeTable(bytes, 'local:other@1')).toThrow(/gives local:test@1, this code needs local:other@1/);
  });

  it('reads only the metadata to tell whether a rebuild is needed', async () => {
    const path = join(scratch, 'tiny.bin');
    expect(await readTableMetadata(path)).toBeUndefined();
    writeFileSync(path, tiny());
    expect(await readTableMetadata(path)).toEqual(metadata);
  });
});

describe('Retry-After', () => {
  it('reads delta-seconds and HTTP dates, and ignores what it cannot read', () => {
    const now = Date.parse('2025-01-01T00:00:00Z');
    expect(retryAfterMs('3', now)).toBe(3_000);
    expect(retryAfterMs('Wed, 01 Jan 2025 00:00:05 GMT', now)).toBe(5_000);
    expect(retryAfterMs('Tue, 31 Dec 2024 23:00:00 GMT', now)).toBe(0);
    expect(retryAfterMs('soon', now)).toBeUndefined();
    expect(retryAfterMs(null, now)).toBeUndefined();
    expect(retryAfterMs('  ', now)).toBeUndefined();
  });
});
