// `prepare` (npm runs it after every plain `npm install` / `npm ci`): builds what the
// service reads but git does not hold, each step skipping itself when it cannot or need not
// run. `node scripts/prepare.ts <name>...` runs only the named steps.
import { join } from 'node:path';
import { buildEmbeddingsTable } from './build-embeddings-table.ts';

const ROOT = join(import.meta.dirname, '..');

/** The web UI: Vite builds web/ into web/dist, which `serve` serves at `/`. */
async function buildWebUi(): Promise<string> {
  let vite: typeof import('vite');
  try {
    vite = await import('vite');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ERR_MODULE_NOT_FOUND') throw error;
    // A production install has no devDependencies: it keeps the build it shipped with.
    return 'skipped: vite is not installed (no devDependencies); web/dist is not rebuilt';
  }
  const started = performance.now();
  await vite.build({ configFile: join(ROOT, 'web', 'vite.config.ts'), logLevel: 'warn' });
  return `built web/dist in ${Math.round(performance.now() - started)} ms`;
}

const steps: { name: string; run: () => Promise<string> }[] = [
  // A production install has no devDependencies: then the local embedder stays unavailable (EMBEDDINGS_URL serves instead).
  { name: 'embeddings table', run: () => buildEmbeddingsTable({ ifAvailable: true }) },
  { name: 'web', run: buildWebUi },
];

const only = process.argv.slice(2);
const unknown = only.filter((name) => !steps.some((step) => step.name === name));
if (unknown.length > 0) {
  console.error(`prepare: no step named ${unknown.join(', ')}; steps: ${steps.map((step) => `"${step.name}"`).join(', ')}`);
  process.exit(1);
}
for (const step of steps) if (only.length === 0 || only.includes(step.name)) console.log(`prepare: ${step.name}: ${await step.run()}`);
