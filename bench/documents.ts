// Filename search at scale: 1,000,000 document rows loaded with COPY, then 300 random
// queries each of prefix listing, project substring search and global substring search,
// on PGlite and on Postgres, through the module's own repository (the production SQL).
import { randomUUID } from 'node:crypto';
import { loadConfig } from '../src/config.ts';
import { DocumentsRepo } from '../src/modules/documents/repo.ts';
import type { Database } from '../src/platform/db/database.ts';
import { createLogger } from '../src/platform/observability/logger.ts';
import { startPlatform } from '../src/platform/platform.ts';
import { createTestDatabase, testDatabaseUrl } from '../test/helpers/shapes.ts';
import { type BenchSection, copyIn, seededRandom, summarise } from './lib.ts';

const ROWS = Number(process.env.BENCH_DOCUMENT_ROWS ?? 1_000_000);
const OWNERS = 10;
const PROJECTS_PER_OWNER = 10;
const QUERIES = 300;
const EXTENSIONS = ['ts', 'js', 'py', 'go', 'md'];

// Path parts drawn from words common in code bases, so trigram frequencies look like a
// real tree's (a corpus where every path contains the same word would make every query
// read that word's posting lists: see the README's note on this benchmark).
const WORDS = (
  'api app auth cache client config controller core data db error event handler helper http index job ' +
  'lib log mail model module net order page parser payment plugin queue repo report route schema ' +
  'search server service session store stream sync task test theme token type ui upload user util view ' +
  'widget worker admin billing cart catalog chart checkout comment dashboard editor export feed filter ' +
  'form graph image import invoice layout list map media menu message metric notify poll profile ' +
  'project render review rule scheduler settings share signup stats tag team template timeline video'
).split(' ');

function documentPath(random: (max: number) => number, n: number): string {
  const word = () => WORDS[random(WORDS.length)] as string;
  const directories = Array.from({ length: 1 + random(3) }, word).join('/');
  const name = random(2) === 0 ? `${word()}_${word()}` : `${word()}${word().replace(/^./, (c) => c.toUpperCase())}`;
  return `${directories}/${name}${n}.${EXTENSIONS[random(EXTENSIONS.length)]}`;
}

/** A query a person would type: 4 to 10 characters from some file's name. */
function filenameQuery(random: (max: number) => number): string {
  const name = (documentPath(random, random(ROWS)).split('/').pop() as string).split('.')[0] as string;
  const length = Math.min(name.length, 4 + random(7));
  const start = random(name.length - length + 1);
  return name.slice(start, start + length);
}

async function seed(db: Database): Promise<{ owners: string[]; projects: string[]; csv: string }> {
  const owners = Array.from({ length: OWNERS }, () => randomUUID());
  const projects = owners.flatMap(() => Array.from({ length: PROJECTS_PER_OWNER }, () => randomUUID()));
  for (const [i, id] of owners.entries()) {
    await db.query("insert into users (id, email, display_name, password_hash) values ($1, $2, 'bench', 'x')", [
      id,
      `owner${i}@bench.test`,
    ]);
  }
  for (const [i, id] of projects.entries()) {
    await db.query('insert into projects (id, owner_id, name) values ($1, $2, $3)', [
      id,
      owners[Math.floor(i / PROJECTS_PER_OWNER)],
      `p${i}`,
    ]);
  }
  const random = seededRandom(42);
  const lines: string[] = [];
  for (let n = 0; n < ROWS; n += 1) {
    lines.push(`${projects[n % projects.length]}\t${documentPath(random, n)}\tready\t${'a'.repeat(64)}\t100`);
  }
  return { owners, projects, csv: `${lines.join('\n')}\n` };
}

const COPY_SQL = 'copy documents (project_id, path, state, sha256, size_bytes) from stdin';

async function load(db: Database, csv: string): Promise<number> {
  const started = performance.now();
  await copyIn(db, COPY_SQL, Buffer.from(csv));
  await db.exec('analyze documents');
  return performance.now() - started;
}

async function measure(db: Database, owners: string[], projects: string[]) {
  const repo = new DocumentsRepo(db);
  const random = seededRandom(7);
  const results: Record<string, number[]> = { prefix: [], project_substring: [], global_substring: [] };
  // A query that matches nothing is cheap; counting matches keeps the benchmark honest.
  const withMatches: Record<string, number> = { prefix: 0, project_substring: 0, global_substring: 0 };
  const run = async (kind: string, query: () => Promise<unknown[]>) => {
    const started = performance.now();
    const rows = await query();
    results[kind]?.push(performance.now() - started);
    if (rows.length > 0) withMatches[kind] = (withMatches[kind] ?? 0) + 1;
  };
  for (let i = 0; i < QUERIES; i += 1) {
    const project = projects[random(projects.length)] as string;
    const owner = owners[random(owners.length)] as string;
    const prefix = `${WORDS[random(WORDS.length)]}/`;
    await run('prefix', () => repo.listInProject(project, { prefix, limit: 50 }));
    await run('project_substring', () => repo.listInProject(project, { q: filenameQuery(random), limit: 50 }));
    await run('global_substring', () => repo.searchForOwner(owner, filenameQuery(random), 50));
  }
  return Object.fromEntries(
    Object.entries(results).map(([kind, samples]) => [kind, { ...summarise(samples), queries_with_matches: withMatches[kind] }]),
  );
}

async function runOn(shape: 'pglite' | 'postgres') {
  const dropLater = shape === 'postgres' ? await createTestDatabase() : undefined;
  const config = loadConfig({ LOG_LEVEL: 'silent', ...(dropLater ? { DATABASE_URL: dropLater.url } : {}) });
  const platform = await startPlatform(config, createLogger('silent'), { inMemory: true });
  try {
    const { owners, projects, csv } = await seed(platform.db);
    const loadMs = await load(platform.db, csv);
    return { loadMs, latencies: await measure(platform.db, owners, projects) };
  } finally {
    await platform.stop();
    await dropLater?.drop();
  }
}

export async function benchDocuments(): Promise<BenchSection[]> {
  const shapes: ('pglite' | 'postgres')[] = testDatabaseUrl ? ['pglite', 'postgres'] : ['pglite'];
  const measured: Record<string, Awaited<ReturnType<typeof runOn>>> = {};
  for (const shape of shapes) measured[shape] = await runOn(shape);
  const rows: (string | number)[][] = [];
  const failures: string[] = [];
  for (const [shape, result] of Object.entries(measured)) {
    rows.push([shape, 'COPY + analyze', `${Math.round(result.loadMs)} ms total`, '', '', '']);
    for (const [kind, stats] of Object.entries(result.latencies)) {
      rows.push([shape, kind, stats.p50, stats.p95, stats.p99, `${stats.queries_with_matches}/${QUERIES}`]);
      if (stats.p95 >= 10) failures.push(`${shape} ${kind} p95 ${stats.p95} ms`);
    }
  }
  return [
    {
      name: `Filename search over ${ROWS.toLocaleString('en')} documents (${QUERIES} random queries per kind)`,
      table: { columns: ['engine', 'query', 'p50 ms', 'p95 ms', 'p99 ms', 'queries with matches'], rows },
      notes: [
        failures.length === 0 ? 'p95 < 10 ms for every kind on every engine: PASS' : `p95 target (< 10 ms) missed: ${failures.join('; ')}`,
        shapes.length === 1
          ? 'Postgres skipped: set TEST_DATABASE_URL to measure it side by side'
          : 'same data, same queries (seeded generator) on both engines',
        `${OWNERS} owners x ${PROJECTS_PER_OWNER} projects; paths of 1-3 directories and a two-word file name from a 120-word code vocabulary; substring queries are 4-10 characters of a file name; all through DocumentsRepo (the production SQL)`,
      ],
      data: measured,
    },
  ];
}
