// Trims the production node_modules that the image's runtime stage copies (run by the
// Dockerfile's build stage after `npm prune --omit=dev`): the bar is 180 MB for the whole
// image and the Node binary alone takes 107 MB of it. Removes only what never runs: the
// Node binary package (the image copies the binary itself), build-time-only subtrees,
// other platforms' prebuilt binaries, and files Node does not execute from node_modules.
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

interface LockEntry {
  dev?: boolean;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
}

// Reachable from a production manifest but never imported at run time.
const NOT_AT_RUN_TIME = new Set([
  // The `node` package: the binary is copied to /usr/local/bin/node (stripped) on its own.
  'node',
  // @sentry/node depends on its bundler plugins (with the `sentry` CLI and oxc-parser, about
  // 30 MB) only for its ./vite, ./webpack, ./rollup and ./esbuild exports, build tools that
  // a server never loads; the SDK itself (the `.` export) does not import them.
  '@sentry/bundler-plugins',
]);

// Node never executes TypeScript under node_modules (ERR_UNSUPPORTED_NODE_MODULES_TYPE_STRIPPING),
// source maps are only read by debuggers, and Markdown is documentation.
const DEAD_FILE = /\.(map|ts|mts|cts|md|markdown)$/;
// Test suites and examples at a package's root; never required by its entry points.
const DEAD_PACKAGE_DIRS = new Set(['test', 'tests', '__tests__', 'example', 'examples', '.github']);
const PLATFORM = `${process.platform}-${process.arch}`;

const project = process.argv[2] ?? '.';
const lock = JSON.parse(readFileSync(join(project, 'package-lock.json'), 'utf8')) as { packages: Record<string, LockEntry> };

/** Node's resolution over the lockfile's layout: the nearest node_modules/<name> above `from`. */
function resolveIn(from: string, name: string): string | undefined {
  let base = from;
  for (;;) {
    const candidate = base === '' ? `node_modules/${name}` : `${base}/node_modules/${name}`;
    if (lock.packages[candidate]) return candidate;
    if (base === '') return undefined;
    const parent = base.lastIndexOf('/node_modules/');
    base = parent === -1 ? '' : base.slice(0, parent);
  }
}

const kept = new Set<string>();
const queue: string[] = [''];
while (queue.length > 0) {
  const path = queue.pop() as string;
  const entry = lock.packages[path] as LockEntry;
  const names =
    path === ''
      ? Object.keys(entry.dependencies ?? {})
      : [
          ...Object.keys(entry.dependencies ?? {}),
          ...Object.keys(entry.optionalDependencies ?? {}),
          ...Object.keys(entry.peerDependencies ?? {}),
        ];
  for (const name of names) {
    if (NOT_AT_RUN_TIME.has(name)) continue;
    const resolved = resolveIn(path, name);
    if (resolved === undefined || kept.has(resolved)) continue;
    kept.add(resolved);
    queue.push(resolved);
  }
}

let removedPackages = 0;
for (const path of Object.keys(lock.packages)) {
  if (path === '' || kept.has(path)) continue;
  // A package inside a removed one goes with it; one inside a kept one is judged on its own.
  rmSync(join(project, path), { recursive: true, force: true });
  removedPackages++;
}

let removedFiles = 0;
/** node_modules/x or node_modules/@scope/x. */
function isPackageRoot(dir: string): boolean {
  const parent = dirname(dir);
  if (basename(parent) === 'node_modules') return !basename(dir).startsWith('@');
  return basename(parent).startsWith('@') && basename(dirname(parent)) === 'node_modules';
}
function sweep(dir: string, packageRoot: boolean): void {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (packageRoot && DEAD_PACKAGE_DIRS.has(entry.name)) {
        rmSync(full, { recursive: true, force: true });
        continue;
      }
      if (entry.name === 'prebuilds') {
        for (const platform of readdirSync(full)) {
          if (platform !== PLATFORM) rmSync(join(full, platform), { recursive: true, force: true });
        }
      }
      sweep(full, isPackageRoot(full));
    } else if (DEAD_FILE.test(entry.name)) {
      rmSync(full, { force: true });
      removedFiles++;
    }
  }
}
sweep(join(project, 'node_modules'), false);

// highlight.js's CSS themes: the render module writes its own theme rules (src/modules/render).
for (const dir of ['styles', 'scss']) rmSync(join(project, 'node_modules/highlight.js', dir), { recursive: true, force: true });
// PGlite's contrib extensions load only when passed to PGlite.create; src/platform/db/database.ts
// passes pg_trgm (and vector, from @electric-sql/pglite-pgvector). The image test's embedded
// shape fails at start-up if one it needs is missing.
const pgliteDist = join(project, 'node_modules/@electric-sql/pglite/dist');
for (const file of readdirSync(pgliteDist)) {
  if (file.endsWith('.tar.gz') && file !== 'pg_trgm.tar.gz') rmSync(join(pgliteDist, file));
}
rmSync(join(project, 'node_modules/.bin'), { recursive: true, force: true });
console.log(`image-prune: kept ${kept.size} packages, removed ${removedPackages} packages and ${removedFiles} files`);
