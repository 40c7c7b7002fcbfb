// Fails when the Drizzle schema and the committed migrations disagree: it lets
// drizzle-kit generate into a scratch copy of migrations/ and checks that nothing new appears.
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { join, relative } from 'node:path';

// drizzle-kit only accepts an --out path relative to the project.
mkdirSync('.cache', { recursive: true });
const scratch = relative(process.cwd(), mkdtempSync(join('.cache', 'db-check-')));
try {
  cpSync('migrations', scratch, { recursive: true });
  const before = new Set(readdirSync(scratch));
  const result = spawnSync(
    'drizzle-kit',
    ['generate', '--dialect', 'postgresql', '--schema', './src/{platform/*,modules/*}/schema.ts', '--out', scratch, '--name', 'pending'],
    { encoding: 'utf8' },
  );
  // drizzle-kit can exit 0 after an error, so success is only its own "no changes" line.
  if (result.status !== 0 || !/No schema changes/i.test(result.stdout + result.stderr)) {
    console.error(result.stdout, result.stderr);
    throw new Error('db:check failed: drizzle-kit generate did not confirm the schema has no changes');
  }
  const added = readdirSync(scratch).filter((name) => !before.has(name));
  if (added.length > 0) {
    console.error(`db:check failed: the schema has changes with no migration (drizzle-kit would add ${added.join(', ')}).`);
    throw new Error('Run `npm run db:generate` and commit the new file in migrations/.');
  }
  const check = spawnSync('drizzle-kit', ['check'], { encoding: 'utf8' });
  if (check.status !== 0) {
    console.error(check.stdout, check.stderr);
    throw new Error('db:check failed: drizzle-kit check found inconsistent migrations');
  }
  console.log('db:check: schema and migrations agree');
} catch (error) {
  console.error((error as Error).message);
  process.exitCode = 1;
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
