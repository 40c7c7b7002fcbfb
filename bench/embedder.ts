// The local embedder's own cost, for bench/knowledge.ts (or `node bench/embedder.ts` alone):
// the table's load time and resident memory, measured in a fresh process so nothing else
// is counted, and its throughput on ~1 KB chunks.
import { execFileSync } from 'node:child_process';
import { loadConfig } from '../src/config.ts';
import { LocalEmbeddings } from '../src/modules/knowledge/embeddings/local.ts';
import { createLogger } from '../src/platform/observability/logger.ts';

export interface EmbedderCost {
  words: number;
  dimensions: number;
  fileMb: number;
  /** First load in a fresh process: read, views, the word index. */
  loadMs: number;
  /** What holding the loaded table adds to the process (after a GC): resident set, JS heap, ArrayBuffers. */
  rssMb: number;
  heapMb: number;
  arrayBuffersMb: number;
  /** 1 KB chunks embedded per second, in batches of 64, after a warm-up. */
  chunksPerSecond: number;
  chunkChars: number;
}

const SENTENCES = [
  'The service restarts its workers when the queue grows past the configured limit.',
  'Fold the egg whites into the batter and bake until the top is golden.',
  'Interest rates rose again as the central bank tried to slow inflation.',
  'The parser reads each header field and rejects names with invalid characters.',
  'Our team won the match after scoring twice in the final ten minutes.',
  'Water the seedlings every morning and move them into the sun after a week.',
  'The patient was given antibiotics and recovered within a few days.',
  'A retry with exponential backoff spreads the load when the upstream API is slow.',
];

/** `count` chunks of about `chars` characters each, the same every run. */
export function syntheticChunks(count: number, chars = 1_000): string[] {
  return Array.from({ length: count }, (_, i) => {
    let text = '';
    for (let k = 0; text.length < chars; k += 1) text += `${SENTENCES[(i * 7 + k * 3 + (k >> 2)) % SENTENCES.length]} `;
    return text.slice(0, chars);
  });
}

/** Measures in a child process (clean memory figures); `tablePath` defaults to EMBEDDINGS_TABLE's default. */
export function measureLocalEmbedder(tablePath = loadConfig({}).knowledge.embeddingsTable): EmbedderCost {
  const out = execFileSync(process.execPath, ['--expose-gc', import.meta.filename, '--child', tablePath], { encoding: 'utf8' });
  return JSON.parse(out.trim().split('\n').at(-1) as string) as EmbedderCost;
}

async function child(tablePath: string): Promise<EmbedderCost> {
  const gc = (globalThis as { gc?: () => void }).gc ?? (() => undefined);
  const chunks = syntheticChunks(2_000);
  gc();
  const before = process.memoryUsage();
  const embeddings = new LocalEmbeddings({ tablePath }, createLogger('silent'));
  const load = await embeddings.load();
  gc();
  const after = process.memoryUsage();
  await embeddings.embed(chunks.slice(0, 200)); // warm-up (JIT)
  const started = performance.now();
  let done = 0;
  while (performance.now() - started < 3_000) {
    const batch = chunks.slice(done % chunks.length, (done % chunks.length) + 64);
    done += (await embeddings.embed(batch)).length;
  }
  const seconds = (performance.now() - started) / 1000;
  const mb = (bytes: number) => Math.round(bytes / 1e5) / 10;
  return {
    words: load.words,
    dimensions: load.dimensions,
    fileMb: mb(load.fileBytes),
    loadMs: Math.round(load.loadMs),
    rssMb: mb(after.rss - before.rss),
    heapMb: mb(after.heapUsed - before.heapUsed),
    arrayBuffersMb: mb(after.arrayBuffers - before.arrayBuffers),
    chunksPerSecond: Math.round(done / seconds),
    chunkChars: chunks[0]?.length ?? 0,
  };
}

if (import.meta.main) {
  if (process.argv[2] === '--child') console.log(JSON.stringify(await child(process.argv[3] as string)));
  else console.log(measureLocalEmbedder(process.argv[2]));
}
