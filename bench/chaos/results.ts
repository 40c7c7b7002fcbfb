// Writes bench/results/chaos.{json,md} beside the benchmarks' latest.{json,md}: a run of
// some scenarios replaces theirs and keeps the others from earlier runs, each dated.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { formatCounts } from '../mixed-load.ts';
import type { ScenarioResult } from './scenarios.ts';

interface Stored extends ScenarioResult {
  form: 'short' | 'full';
  measured_at: string;
}

export function verdict(check: { pass: boolean }): string {
  return check.pass ? 'PASS' : 'FAIL';
}

function previous(file: string): Stored[] {
  if (!existsSync(file)) return [];
  return (JSON.parse(readFileSync(file, 'utf8')) as { scenarios?: Stored[] }).scenarios ?? [];
}

export function writeChaosResults(results: ScenarioResult[], order: string[], form: 'short' | 'full'): string {
  const dir = join(import.meta.dirname, '..', 'results');
  mkdirSync(dir, { recursive: true });
  const jsonFile = join(dir, 'chaos.json');
  const rerun = new Set(results.map((result) => result.scenario));
  const measuredAt = new Date().toISOString();
  const scenarios = [
    ...previous(jsonFile).filter((stored) => !rerun.has(stored.scenario)),
    ...results.map((result) => ({ ...result, form, measured_at: measuredAt })),
  ].sort((a, b) => order.indexOf(a.scenario) - order.indexOf(b.scenario));
  const meta = { written: measuredAt, node: process.version, cpus: navigator.hardwareConcurrency };
  writeFileSync(jsonFile, `${JSON.stringify({ meta, scenarios }, null, 2)}\n`);
  const lines = [
    '# Rampart chaos scenarios',
    '',
    `Node ${meta.node}, ${meta.cpus} CPUs shared with other work: figures are what this machine measured, not an idle one.`,
    'Scale shape: local Postgres and Redis behind TCP relays, 2 `serve` (API only) + 2 `worker` processes, mixed autocannon load over both API ports.',
    '',
    '| scenario | result | form | requests | 2xx | non-2xx | transport errors | p99 ms | recovery ms |',
    '|---|---|---|---|---|---|---|---|---|',
  ];
  for (const item of scenarios) {
    const ok = item.targets.reduce((sum, target) => sum + target.ok, 0);
    const non2xx: Record<string, number> = {};
    const transport: Record<string, number> = {};
    for (const target of item.targets) {
      for (const [key, n] of Object.entries(target.non2xx)) non2xx[key] = (non2xx[key] ?? 0) + n;
      for (const [key, n] of Object.entries(target.transportErrors)) transport[key] = (transport[key] ?? 0) + n;
    }
    const requests = item.routes.reduce((sum, route) => sum + route.requests, 0);
    lines.push(
      `| ${item.scenario} | ${item.pass ? 'PASS' : 'FAIL'} | ${item.form} | ${requests} | ${ok} | ${formatCounts(non2xx)} | ${formatCounts(transport)} | ${Math.round(item.p99Ms)} | ${item.recoveryMs ?? 'never'} |`,
    );
  }
  lines.push('');
  for (const item of scenarios) {
    lines.push(
      `## ${item.scenario}: ${item.pass ? 'PASS' : 'FAIL'}`,
      '',
      `Promise: ${item.promise}`,
      '',
      `Measured ${item.measured_at} (\`npm run chaos -- ${item.scenario}${item.form === 'short' ? ' --short' : ''}\`), ${item.seconds} s of load. Recovery: ${item.recoveryMs ?? 'never'} ms (${item.recoveryMeaning}).`,
      '',
      ...item.checks.map((check) => `- ${verdict(check)}: ${check.name}${check.detail ? ` (${check.detail})` : ''}`),
      '',
      '| route | requests | by status | transport errors | p50 ms | p99 ms |',
      '|---|---|---|---|---|---|',
      ...item.routes.map(
        (route) =>
          `| ${route.route} | ${route.requests} | ${formatCounts(route.byStatus)} | ${formatCounts(route.transportErrors)} | ${route.p50} | ${route.p99} |`,
      ),
      '',
    );
  }
  writeFileSync(join(dir, 'chaos.md'), lines.join('\n'));
  return join(dir, 'chaos.md');
}
