// The install step (`npm ci` runs it as `prepare`): a short list of build steps, in order.
// `node scripts/prepare.ts <name>...` runs only the named ones.
import { join } from 'node:path';

interface Step {
  name: string;
  run: () => Promise<void>;
}

const ROOT = join(import.meta.dirname, '..');

const steps: Step[] = [
  {
    // The web UI: Vite builds web/ into web/dist, which `serve` serves at `/`.
    name: 'web',
    run: async () => {
      let vite: typeof import('vite');
      try {
        vite = await import('vite');
      } catch (error) {
        // A production install without dev dependencies keeps the build it shipped with.
        if ((error as NodeJS.ErrnoException).code !== 'ERR_MODULE_NOT_FOUND') throw error;
        console.warn('prepare: vite is not installed (dev dependencies omitted); the web UI is not rebuilt');
        return;
      }
      await vite.build({ configFile: join(ROOT, 'web', 'vite.config.ts'), logLevel: 'warn' });
    },
  },
];

const only = process.argv.slice(2);
const unknown = only.filter((name) => !steps.some((step) => step.name === name));
if (unknown.length > 0) {
  console.error(`prepare: no step named ${unknown.join(', ')}; steps: ${steps.map((step) => step.name).join(', ')}`);
  process.exit(1);
}
for (const step of steps) {
  if (only.length > 0 && !only.includes(step.name)) continue;
  const started = performance.now();
  await step.run();
  console.log(`prepare: ${step.name} done in ${Math.round(performance.now() - started)} ms`);
}
