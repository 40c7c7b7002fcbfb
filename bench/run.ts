// `npm run bench [suite]`: runs every benchmark (or one suite) and writes bench/results/latest.{json,md}.
import { benchAuth } from './auth.ts';
import { benchDocuments } from './documents.ts';
import { benchEdge } from './edge.ts';
import { benchKnowledge } from './knowledge.ts';
import { type BenchSection, type SuiteResult, writeResults } from './lib.ts';
import { benchPolls } from './polls.ts';
import { benchReads } from './reads.ts';
import { benchRealtime } from './realtime.ts';
import { benchRender } from './render.ts';
import { benchWeb } from './web.ts';

const only = process.argv[2];
const suites: Record<string, () => Promise<BenchSection[]>> = {
  auth: () => benchAuth(),
  edge: () => benchEdge(),
  documents: () => benchDocuments(),
  reads: () => benchReads(),
  realtime: () => benchRealtime(),
  polls: () => benchPolls(),
  render: () => benchRender(),
  knowledge: () => benchKnowledge(),
  web: () => benchWeb(),
};

const results: SuiteResult[] = [];
for (const [suite, run] of Object.entries(suites)) {
  if (only && only !== suite) continue;
  console.log(`bench: ${suite}...`);
  const sections = await run();
  results.push({ suite, measuredAt: new Date().toISOString(), sections });
}
if (results.length === 0) {
  console.error(`bench: no suite named ${only}; suites: ${Object.keys(suites).join(', ')}`);
  process.exit(1);
}
const file = writeResults(results, Object.keys(suites));
console.log(`bench: results in ${file}`);
for (const { sections } of results)
  for (const section of sections) for (const note of section.notes) console.log(`  ${section.name}: ${note}`);
