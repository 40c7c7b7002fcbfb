// Shared pieces of the benchmarks: percentiles, an in-process Rampart server, results files.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { PGlite } from '@electric-sql/pglite';
import autocannon from 'autocannon';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { loadConfig } from '../src/config.ts';
import type { Database } from '../src/platform/db/database.ts';
import { createLogger } from '../src/platform/observability/logger.ts';
import { startPlatform } from '../src/platform/platform.ts';
import { buildServer } from '../src/roles/serve.ts';

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index] as number;
}

/** CPU seconds (user + system) a process has used so far: utime and stime, the 12th and 13th fields of /proc/<pid>/stat after the command. */
export function processCpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/**
 * Deterministic pseudo-random integers below `max`, so every engine gets the same data and
 * queries: mulberry32 (a 32-bit generator with a 2^32 period), scaled from its high bits. It
 * replaces an LCG computed in doubles, whose product passed 2^53 and lost its low bits: seed
 * 42 fell into a cycle of 10,466 states, so the knowledge corpus had 9,280 distinct chunks
 * of 100,000 (each about 11 times), and `state % max` repeated with the state's low bits.
 */
export function seededRandom(seed: number): (max: number) => number {
  let state = seed >>> 0;
  return (max: number) => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = Math.imul(state ^ (state >>> 15), state | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return Math.floor((((t ^ (t >>> 14)) >>> 0) / 4_294_967_296) * max);
  };
}

export function summarise(samples: number[]): { n: number; p50: number; p95: number; p99: number } {
  const sorted = [...samples].sort((a, b) => a - b);
  const round = (value: number) => Math.round(value * 1000) / 1000;
  return { n: sorted.length, p50: round(percentile(sorted, 50)), p95: round(percentile(sorted, 95)), p99: round(percentile(sorted, 99)) };
}

/**
 * Samples of a Rampart server's /metrics (loopback clients need no token), each series named
 * exactly as the exposition prints it (e.g. `nodejs_gc_duration_seconds_count{kind="minor"}`);
 * a series that is absent reads undefined.
 */
export async function metricSamples<Series extends string>(
  url: string,
  series: readonly Series[],
): Promise<Record<Series, number | undefined>> {
  const response = await fetch(`${url}/metrics`);
  if (!response.ok) throw new Error(`${url}/metrics answered ${response.status}`);
  const lines = (await response.text()).split('\n');
  const samples = {} as Record<Series, number | undefined>;
  for (const name of series) {
    const line = lines.find((candidate) => candidate.startsWith(`${name} `));
    samples[name] = line === undefined ? undefined : Number(line.slice(name.length + 1));
  }
  return samples;
}

export interface RateRun {
  n: number;
  p50: number;
  p95: number;
  p99: number;
  errors: number;
  rps: number;
}

/**
 * One autocannon run, its latencies taken from each response (autocannon's own histogram
 * keeps whole milliseconds); errors count socket errors, timeouts and non-2xx answers.
 */
export async function measuredRun(options: autocannon.Options): Promise<RateRun> {
  const latenciesMs: number[] = [];
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon(options, (error, done) => (error ? reject(error) : resolve(done)));
    instance.on('response', (_client, _status, _bytes, durationMs) => latenciesMs.push(durationMs));
  });
  return { ...summarise(latenciesMs), errors: result.errors + result.timeouts + result.non2xx, rps: Math.round(result.requests.average) };
}

/** A real Rampart server (embedded shape, in memory) listening on a free loopback port. */
export async function startRampart(env: Record<string, string> = {}) {
  const config = loadConfig({
    NODE_ENV: 'production',
    LOG_LEVEL: 'silent',
    PORT: '0',
    UPLOAD_ROOT: mkdtempSync(join(tmpdir(), 'rampart-bench-uploads-')),
    ...env,
  });
  const logger = createLogger('silent');
  const platform = await startPlatform(config, logger, { inMemory: true });
  const app = await buildServer(platform, { work: true });
  const address = await app.listen({ host: '127.0.0.1', port: 0 });
  return {
    url: address,
    platform,
    async close() {
      await app.close(); // stops the platform too
    },
  };
}

export interface BenchSection {
  name: string;
  /** Rows of the Markdown table. */
  table: { columns: string[]; rows: (string | number)[][] };
  notes: string[];
  data: unknown;
}

interface StoredSection extends BenchSection {
  suite: string;
  measured_at: string;
}

function previousSections(file: string): StoredSection[] {
  if (!existsSync(file)) return [];
  try {
    const stored = JSON.parse(readFileSync(file, 'utf8')) as { sections?: Partial<StoredSection>[] };
    // Sections written before suites were recorded cannot be told apart: a full run replaces them.
    return (stored.sections ?? []).filter((section): section is StoredSection => Boolean(section.suite && section.table));
  } catch {
    return [];
  }
}

/**
 * Writes bench/results/latest.{json,md}. A run of some suites (`npm run bench edge`)
 * replaces their sections and keeps the other suites' from earlier runs, each section
 * dated, so a partial run never erases the rest.
 */
export interface SuiteResult {
  suite: string;
  /** When the suite finished (ISO 8601): a full run spans many minutes. */
  measuredAt: string;
  sections: BenchSection[];
}

export function writeResults(results: SuiteResult[], suiteOrder: string[]): string {
  const dir = join(import.meta.dirname, 'results');
  mkdirSync(dir, { recursive: true });
  const jsonFile = join(dir, 'latest.json');
  const rerun = new Set(results.map((result) => result.suite));
  const sections = [
    ...previousSections(jsonFile).filter((section) => !rerun.has(section.suite)),
    ...results.flatMap(({ suite, measuredAt, sections: fresh }) =>
      fresh.map((section) => ({ ...section, suite, measured_at: measuredAt })),
    ),
  ].sort((a, b) => suiteOrder.indexOf(a.suite) - suiteOrder.indexOf(b.suite));
  const meta = {
    written: new Date().toISOString(),
    node: process.version,
    cpus: (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator?.hardwareConcurrency,
  };
  writeFileSync(jsonFile, `${JSON.stringify({ meta, sections }, null, 2)}\n`);
  const markdown = [
    `# Rampart benchmarks`,
    '',
    `Node ${meta.node}, ${meta.cpus ?? '?'} CPUs. Medians and ratios; machines are shared and noisy.`,
    '',
  ];
  for (const section of sections) {
    markdown.push(
      `## ${section.name}`,
      '',
      `Measured ${section.measured_at} (\`npm run bench ${section.suite}\`).`,
      '',
      `| ${section.table.columns.join(' | ')} |`,
      `|${section.table.columns.map(() => '---').join('|')}|`,
    );
    for (const row of section.table.rows) markdown.push(`| ${row.join(' | ')} |`);
    markdown.push('', ...section.notes.map((note) => `- ${note}`), '');
  }
  writeFileSync(join(dir, 'latest.md'), markdown.join('\n'));
  return join(dir, 'latest.md');
}

/** COPY ... FROM stdin of `data` into either engine: PGlite reads it as a blob, Postgres as a stream. */
export async function copyIn(db: Database, sql: string, data: Buffer): Promise<void> {
  if (db.kind === 'pglite') {
    await (db.driver as PGlite).query(sql.replace('stdin', "'/dev/blob'"), [], { blob: new Blob([new Uint8Array(data)]) });
    return;
  }
  const client = await (db.driver as pg.Pool).connect();
  try {
    await new Promise<void>((resolve, reject) => {
      const stream = client.query(copyFrom(sql));
      stream.on('finish', () => resolve());
      stream.on('error', reject);
      stream.end(data);
    });
  } finally {
    client.release();
  }
}
