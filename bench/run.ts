// `npm run bench`: runs every benchmark and writes bench/results/latest.{json,md}.
import { benchAuth } from './auth.ts';
import { benchDocuments } from './documents.ts';
import { benchEdge } from './edge.ts';
import { type BenchSection, writeResults } from './lib.ts';

const only = process.argv[2];
const suites: Record<string, () => Promise<BenchSection[]>> = {
  auth: () => benchAuth(),
  edge: () => benchEdge(),
  documents: () => benchDocuments(),
};

const sections: BenchSection[] = [];
for (const [name, run] of Object.entries(suites)) {
  if (only && only !== name) continue;
  console.log(`bench: ${name}...`);
  sections.push(...(await run()));
}
const file = writeResults(sections);
console.log(`bench: results in ${file}`);
for (const section of sections) for (const note of section.notes) console.log(`  ${section.name}: ${note}`);
