// Trims the production node_modules that the image's runtime stage copies (run by the
// Dockerfile's build stage after `npm prune --omit=dev`): the bar is 180 MB for the whole
// image and the Node binary alone takes 107 MB of it. Removes only what never runs: the
// Node binary package (the image copies the binary itself), build-time-only subtrees,
// other platforms' prebuilt binaries, and files Node does not execute from node_modules.
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
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

// Packages that only ESM code ever imports (Rampart's src/ is ESM; the list's own packages
// import each other from ESM): Node resolves their `import` condition, so their CommonJS
// duplicates (.cjs files, build/cjs) never load. Checked against the lockfile below: a
// dependent outside the project and this list (which might `require` one) stops the build.
const ESM_ONLY = ['drizzle-orm', '@electric-sql/pglite', '@electric-sql/pglite-pgvector', '@sinclair/typebox'];
for (const [path, entry] of Object.entries(lock.packages)) {
  if (path === '' || !kept.has(path)) continue;
  const name = path.slice(path.lastIndexOf('node_modules/') + 'node_modules/'.length);
  if (ESM_ONLY.includes(name)) continue;
  const uses = [entry.dependencies, entry.optionalDependencies, entry.peerDependencies].flatMap((deps) => Object.keys(deps ?? {}));
  const clash = uses.find((dependency) => ESM_ONLY.includes(dependency));
  if (clash) throw new Error(`image-prune: ${name} depends on ${clash}, which loses its CommonJS build; check how it loads it`);
}
function removeCommonJs(dir: string): void {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (entry.name === 'cjs' && basename(dir) === 'build') rmSync(full, { recursive: true, force: true });
      else removeCommonJs(full);
    } else if (entry.name.endsWith('.cjs')) rmSync(full, { force: true });
  }
}
for (const name of ESM_ONLY) removeCommonJs(join(project, 'node_modules', name));

// drizzle-orm ships every dialect and driver. src/ imports only drizzle-orm, /pg-core,
// /node-postgres(/migrator) and /pglite(/migrator); besides those, the package's root
// modules and its shared folders (sql, query-builders, cache) are what they import.
const DRIZZLE_FOLDERS = new Set(['pg-core', 'node-postgres', 'pglite', 'sql', 'query-builders', 'cache']);
const drizzle = join(project, 'node_modules/drizzle-orm');
for (const entry of readdirSync(drizzle, { withFileTypes: true })) {
  if (entry.isDirectory() && !DRIZZLE_FOLDERS.has(entry.name)) rmSync(join(drizzle, entry.name), { recursive: true, force: true });
}

// highlight.js: the render module registers the languages it imports by name
// (highlight.js/lib/languages/<name>, which an ESM import resolves to es/languages/<name>.js);
// the rest, the all-languages bundles (index, common) and lib/'s CommonJS languages never load.
// es/core.js re-exports lib/core.js, so that one stays.
function sourcesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith('.ts'))
    .map((entry) => join(entry.parentPath, entry.name));
}
const languages = new Set(
  sourcesUnder(join(project, 'src')).flatMap((file) =>
    [...readFileSync(file, 'utf8').matchAll(/['"]highlight\.js\/lib\/languages\/([\w-]+)['"]/g)].map((match) => `${match[1]}.js`),
  ),
);
const hljs = join(project, 'node_modules/highlight.js');
if (languages.size === 0 || ![...languages].every((file) => existsSync(join(hljs, 'es/languages', file)))) {
  throw new Error(
    `image-prune: src/ imports highlight.js languages ${[...languages].join(', ') || '(none found)'}; not all are in es/languages`,
  );
}
rmSync(join(hljs, 'lib/languages'), { recursive: true, force: true });
for (const file of readdirSync(join(hljs, 'es/languages'))) if (!languages.has(file)) rmSync(join(hljs, 'es/languages', file));
for (const file of ['lib/index.js', 'lib/common.js', 'es/index.js', 'es/common.js']) rmSync(join(hljs, file), { force: true });

// luxon is loaded only by cron-parser, which is CommonJS: `require` resolves build/node. The
// browser, AMD and global builds, the ES build and the sources are for other consumers.
const luxonUsers = Object.entries(lock.packages).filter(([path, entry]) => kept.has(path) && entry.dependencies?.luxon);
if (luxonUsers.some(([path]) => !path.endsWith('node_modules/cron-parser'))) {
  throw new Error(`image-prune: luxon is loaded by ${luxonUsers.map(([path]) => path).join(', ')}, not only cron-parser`);
}
for (const dir of ['build/amd', 'build/cjs-browser', 'build/global', 'build/es6', 'src']) {
  rmSync(join(project, 'node_modules/luxon', dir), { recursive: true, force: true });
}
// yaml: Node matches its exports' `node` condition (dist/); browser/ is the `default` for others.
rmSync(join(project, 'node_modules/yaml/browser'), { recursive: true, force: true });
// dayjs is loaded only by launder, which requires the main bundle (dayjs.min.js), no locale or
// plugin; esm/ is the same library for bundlers.
const dayjsUsers = Object.entries(lock.packages).filter(([path, entry]) => kept.has(path) && entry.dependencies?.dayjs);
if (dayjsUsers.some(([path]) => !path.endsWith('node_modules/launder'))) {
  throw new Error(`image-prune: dayjs is loaded by ${dayjsUsers.map(([path]) => path).join(', ')}, not only launder`);
}
for (const dir of ['esm', 'locale', 'plugin']) rmSync(join(project, 'node_modules/dayjs', dir), { recursive: true, force: true });
rmSync(join(project, 'node_modules/.bin'), { recursive: true, force: true });
console.log(`image-prune: kept ${kept.size} packages, removed ${removedPackages} packages and ${removedFiles} files`);
