// The local offline embedder on the real word table (built here if the install step has
// not): paraphrases found without shared words, identifiers near their words, determinism,
// the no-known-word fallback, and a service that starts without the table.
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildEmbeddingsTable } from '../../../scripts/build-embeddings-table.ts';
import { loadConfig } from '../../../src/config.ts';
import { BUILD_COMMAND, EmbeddingsError, LOCAL_MODEL, LocalEmbeddings } from '../../../src/modules/knowledge/embeddings/index.ts';
import { tokenize } from '../../../src/modules/knowledge/embeddings/tokens.ts';
import { createLogger } from '../../../src/platform/observability/logger.ts';

const TABLE = loadConfig({}).knowledge.embeddingsTable;
const scratch = mkdtempSync(join(tmpdir(), 'rampart-embeddings-'));
const logger = createLogger('silent');
let embeddings: LocalEmbeddings;

beforeAll(async () => {
  // Normally `npm ci` built it (the prepare step); up to date, this returns at once.
  await buildEmbeddingsTable({ out: TABLE });
  embeddings = new LocalEmbeddings({ tablePath: TABLE }, logger);
});

afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const cosine = (a: Float32Array, b: Float32Array) => a.reduce((sum, value, i) => sum + value * (b[i] as number), 0);

/** The keys of `texts` by cosine to the query, best first. */
async function ranking(query: string, texts: Record<string, string>): Promise<string[]> {
  const [q, ...vectors] = await embeddings.embed([query, ...Object.values(texts)]);
  const keys = Object.keys(texts);
  return vectors
    .map((vector, i) => ({ key: keys[i] as string, score: cosine(q as Float32Array, vector) }))
    .sort((a, b) => b.score - a.score)
    .map(({ key }) => key);
}

const TOPICS = {
  cars: 'How to fix a car: change the engine oil, replace worn brake pads and check the tyres before a long drive. A mechanic at the garage can service the vehicle.',
  cooking: 'Whisk the eggs with sugar, fold in the flour and bake the cake in a hot oven for forty minutes. Serve with cream.',
  finance: 'The bank raised interest rates again; bond yields rose and stock markets fell as investors sold shares.',
  music: 'The orchestra played a symphony; the violins and the cellos carried the melody while the choir sang.',
  health: 'The doctor prescribed antibiotics for the infection and advised rest; the patient recovered in hospital.',
  football: 'The striker scored twice in the second half and the team won the league championship.',
  gardening: 'Plant the tulip bulbs in autumn, water the seedlings and pull the weeds from the flower beds.',
  travel: 'We booked a flight to Rome, stayed in a small hotel near the station and visited the museums.',
};

describe('local embedder', () => {
  it('gives unit Float32Array vectors of 100 dimensions under its model id', async () => {
    const [vector] = await embeddings.embed(['The quick brown fox jumps over the lazy dog.']);
    expect(embeddings.model).toBe(LOCAL_MODEL);
    expect(vector).toBeInstanceOf(Float32Array);
    expect(vector).toHaveLength(100);
    expect(Math.hypot(...(vector as Float32Array))).toBeCloseTo(1, 5);
    const load = await embeddings.load();
    expect(load).toMatchObject({ dimensions: 100, words: expect.any(Number) });
    expect(load.words).toBeGreaterThan(100_000);
  });

  it('ranks the right text first for queries that share no word with it', async () => {
    const queries: [string, keyof typeof TOPICS][] = [
      ['automobile repair', 'cars'],
      ['baking dessert recipes', 'cooking'],
      ['economy, monetary policy', 'finance'],
      ['classical concert instruments', 'music'],
      ['medical treatment of illness', 'health'],
      ['soccer match goals', 'football'],
      ['growing plants at home', 'gardening'],
      ['vacation trip abroad', 'travel'],
    ];
    for (const [query, topic] of queries) {
      const words = new Set(tokenize(query, () => false));
      expect(tokenize(TOPICS[topic], () => false).filter((word) => words.has(word))).toEqual([]); // truly no shared word
      expect([query, (await ranking(query, TOPICS))[0]]).toEqual([query, topic]);
    }
  });

  it('embeds identifiers near their words: camelCase, snake_case and acronyms are split', async () => {
    const code = {
      headers: 'Reads the request line and the header fields of an incoming web request and splits each field into its name and value.',
      retries: 'How many times a failed request is attempted again before the client gives up and reports the error.',
      cooking: TOPICS.cooking,
      finance: TOPICS.finance,
      music: TOPICS.music,
    };
    expect((await ranking('parseHttpHeader', code))[0]).toBe('headers');
    expect((await ranking('HTTPHeaderParser', code))[0]).toBe('headers');
    expect((await ranking('max_retry_count', code))[0]).toBe('retries');
    expect((await ranking('MAX_RETRY_COUNT', code))[0]).toBe('retries');
    const [identifier, words] = await embeddings.embed(['parseHttpHeader', 'parse the http header']);
    expect(cosine(identifier as Float32Array, words as Float32Array)).toBeGreaterThan(0.95);
  });

  it('is deterministic: the same text gives the same vector, in any batch and any instance', async () => {
    const text = 'Deterministic vectors let stored chunks and fresh queries meet.';
    const [alone] = await embeddings.embed([text]);
    const batch = await embeddings.embed(['something else first', text, 'and after']);
    const other = new LocalEmbeddings({ tablePath: TABLE }, logger);
    const [fresh] = await other.embed([text]);
    expect(Array.from(batch[1] as Float32Array)).toEqual(Array.from(alone as Float32Array));
    expect(Array.from(fresh as Float32Array)).toEqual(Array.from(alone as Float32Array));
  });

  it('gives a text with no known word a hashed unit vector: stable, its own, unrelated to real text', async () => {
    const [unknown, again, different, empty, digits, real] = await embeddings.embed([
      'zxqvblorp wugfrang',
      'zxqvblorp wugfrang',
      'plimquat',
      '',
      '12345 !!!',
      TOPICS.cars,
    ]);
    for (const vector of [unknown, different, empty, digits]) expect(Math.hypot(...(vector as Float32Array))).toBeCloseTo(1, 5);
    expect(Array.from(again as Float32Array)).toEqual(Array.from(unknown as Float32Array));
    expect(Math.abs(cosine(unknown as Float32Array, different as Float32Array))).toBeLessThan(0.5);
    expect(Math.abs(cosine(unknown as Float32Array, real as Float32Array))).toBeLessThan(0.5);
    expect(Math.abs(cosine(digits as Float32Array, empty as Float32Array))).toBeLessThan(0.99);
  });

  it('embeds a long batch, yielding to the event loop, and stops when its signal aborts', async () => {
    const texts = Array.from({ length: 100 }, (_, i) => `${TOPICS.travel} day ${i}`);
    expect(await embeddings.embed(texts)).toHaveLength(100);
    const controller = new AbortController();
    const pending = embeddings.embed(texts, controller.signal);
    controller.abort();
    await expect(pending).rejects.toMatchObject({ kind: 'unavailable', message: 'embedding was cancelled' });
  });

  it('starts without its table, says how to build it, and works once the table appears', async () => {
    const path = join(scratch, 'later', 'table.bin');
    const lines: string[] = [];
    const missing = new LocalEmbeddings({ tablePath: path }, createLogger('info', { write: (line: string) => lines.push(line) }));
    await expect(missing.check()).rejects.toThrow(`build it with \`${BUILD_COMMAND}\``);
    const error = await missing.embed(['anything']).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(EmbeddingsError);
    expect((error as EmbeddingsError).kind).toBe('unavailable');
    expect((error as EmbeddingsError).message).toContain('is missing');
    expect(lines.filter((line) => line.includes('embeddings.table_missing'))).toHaveLength(1); // warned once, not per call

    mkdirSync(join(scratch, 'later'));
    writeFileSync(path, 'not a table at all');
    await expect(missing.check()).rejects.toThrow(/is unusable \(not a word table/);

    copyFileSync(TABLE, path);
    await missing.check();
    expect(await missing.embed(['now it works'])).toHaveLength(1);
    expect(lines.some((line) => line.includes('embeddings.table_loaded'))).toBe(true);
  });

  it('refuses a table built for another model id, so stored vectors are never mixed', async () => {
    const bytes = readFileSync(TABLE);
    const path = join(scratch, 'old-model.bin');
    // Same length, another model id in the metadata: what an older build step would have left.
    writeFileSync(path, Buffer.from(bytes.toString('latin1').replace(LOCAL_MODEL, LOCAL_MODEL.replace(/@\d+$/, '@0')), 'latin1'));
    await expect(new LocalEmbeddings({ tablePath: path }, logger).check()).rejects.toThrow(
      /gives local:wink-sg100d-sif@0, this code needs/,
    );
  });
});
