// `prepare` (npm runs it after every plain `npm install` / `npm ci`): builds what the
// service reads but git does not hold, each step skipping itself when already up to date.
import { buildEmbeddingsTable } from './build-embeddings-table.ts';

const steps: { name: string; run: () => Promise<string> }[] = [
  // A production install has no devDependencies: then the local embedder stays unavailable (EMBEDDINGS_URL serves instead).
  { name: 'embeddings table', run: () => buildEmbeddingsTable({ ifAvailable: true }) },
];

for (const step of steps) console.log(`prepare: ${step.name}: ${await step.run()}`);
