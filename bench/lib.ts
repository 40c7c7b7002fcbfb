// Shared pieces of the benchmarks: percentiles, an in-process Rampart server, results files.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildApp } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';
import { createApiModules } from '../src/modules/index.ts';
import { createLogger } from '../src/platform/observability/logger.ts';
import { startPlatform } from '../src/platform/platform.ts';

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index] as number;
}

export function summarise(samples: number[]): { n: number; p50: number; p95: number; p99: number } {
  const sorted = [...samples].sort((a, b) => a - b);
  const round = (value: number) => Math.round(value * 1000) / 1000;
  return { n: sorted.length, p50: round(percentile(sorted, 50)), p95: round(percentile(sorted, 95)), p99: round(percentile(sorted, 99)) };
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
  const modules = createApiModules(platform);
  await platform.startJobs('bench', true);
  const app = await buildApp(platform, { modules });
  const address = await app.listen({ host: '127.0.0.1', port: 0 });
  return {
    url: address,
    platform,
    async close() {
      await app.close();
      await platform.stop();
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

export function writeResults(sections: BenchSection[]): string {
  const dir = join(import.meta.dirname, 'results');
  mkdirSync(dir, { recursive: true });
  const meta = {
    date: new Date().toISOString(),
    node: process.version,
    cpus: (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator?.hardwareConcurrency,
  };
  writeFileSync(
    join(dir, 'latest.json'),
    `${JSON.stringify({ meta, sections: sections.map(({ name, data, notes }) => ({ name, notes, data })) }, null, 2)}\n`,
  );
  const markdown = [
    `# Rampart benchmarks`,
    '',
    `${meta.date}, Node ${meta.node}, ${meta.cpus ?? '?'} CPUs. Medians and ratios; machines are shared and noisy.`,
    '',
  ];
  for (const section of sections) {
    markdown.push(
      `## ${section.name}`,
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
