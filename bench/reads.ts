// Authenticated reads under a fixed rate: GET /api/v1/auth/me and GET /api/v1/documents/:id
// (a 16 KB document) with a bearer token at a fixed 1,000 requests/s, beside GET /health/live
// at the same rate in the same run, against a real `rampart serve` process in each shape.
// Target (issue 13): p99 of each authenticated read <= 3x the p99 of /health/live. Each run
// also reports the server's garbage collection during it (its /metrics), so a tail made of GC pauses shows as one.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { freePort } from '../test/helpers/processes.ts';
import { deleteKeysAt } from '../test/helpers/redis-keys.ts';
import { createTestDatabase, scaleUrls, type TestDatabase } from '../test/helpers/shapes.ts';
import { type BenchSection, measuredRun, metricSamples, type RateRun } from './lib.ts';

const RATE = 1_000;
const CONNECTIONS = 16;
const PASSWORD = 'bench-reads-password-1';
const TARGET_RATIO = 3;

interface Shape {
  name: 'embedded' | 'scale';
  env: Record<string, string>;
  database?: TestDatabase;
}

/** The server's garbage collection over one measured run (its /metrics before and after). */
interface GcDuringRun {
  minor: number;
  minorMs: number;
  minorOver10Ms: number;
  major: number;
  majorMs: number;
  oldSpaceGrowthMb: number;
}

interface Series extends RateRun {
  endpoint: string;
  gc: GcDuringRun;
}

const GC_SERIES = [
  'nodejs_gc_duration_seconds_count{kind="minor"}',
  'nodejs_gc_duration_seconds_sum{kind="minor"}',
  'nodejs_gc_duration_seconds_bucket{le="0.01",kind="minor"}',
  'nodejs_gc_duration_seconds_count{kind="major"}',
  'nodejs_gc_duration_seconds_sum{kind="major"}',
  'nodejs_heap_space_size_used_bytes{space="old"}',
] as const;

async function gcSamples(url: string): Promise<Record<(typeof GC_SERIES)[number], number>> {
  const samples = await metricSamples(url, GC_SERIES);
  // A kind that has not run yet has no series.
  return Object.fromEntries(GC_SERIES.map((name) => [name, samples[name] ?? 0])) as Record<(typeof GC_SERIES)[number], number>;
}

function gcBetween(before: Awaited<ReturnType<typeof gcSamples>>, after: Awaited<ReturnType<typeof gcSamples>>): GcDuringRun {
  const change = (name: (typeof GC_SERIES)[number]) => after[name] - before[name];
  const minor = change('nodejs_gc_duration_seconds_count{kind="minor"}');
  return {
    minor,
    minorMs: Math.round(change('nodejs_gc_duration_seconds_sum{kind="minor"}') * 1000),
    minorOver10Ms: minor - change('nodejs_gc_duration_seconds_bucket{le="0.01",kind="minor"}'),
    major: change('nodejs_gc_duration_seconds_count{kind="major"}'),
    majorMs: Math.round(change('nodejs_gc_duration_seconds_sum{kind="major"}') * 1000),
    oldSpaceGrowthMb: Math.round(change('nodejs_heap_space_size_used_bytes{space="old"}') / 1e5) / 10,
  };
}

function describeGc(gc: GcDuringRun): string {
  return `minor ${gc.minor} (${gc.minorMs} ms, ${gc.minorOver10Ms} over 10 ms), major ${gc.major} (${gc.majorMs} ms), old space ${gc.oldSpaceGrowthMb >= 0 ? '+' : ''}${gc.oldSpaceGrowthMb} MB`;
}

async function startServer(shape: Shape): Promise<{ url: string; child: ChildProcess }> {
  const port = await freePort();
  const child = spawn(process.execPath, [join(import.meta.dirname, '../src/cli.ts'), 'serve'], {
    stdio: ['ignore', 'ignore', 'inherit'],
    env: {
      ...process.env,
      ...shape.env,
      PORT: String(port),
      NODE_ENV: 'production',
      LOG_LEVEL: 'warn',
      UPLOAD_ROOT: mkdtempSync(join(tmpdir(), 'rampart-bench-reads-uploads-')),
      // 1,000 requests/s from one address is this bench's load, not an attack.
      API_RATE_LIMIT_PER_MINUTE: '1000000',
    },
  });
  const url = `http://127.0.0.1:${port}`;
  for (let attempt = 0; attempt < 600 && child.exitCode === null; attempt += 1) {
    try {
      if ((await fetch(`${url}/health/ready`)).ok) return { url, child };
    } catch {}
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  child.kill('SIGKILL');
  throw new Error(`bench: ${shape.name} server never became ready`);
}

async function json(url: string, init: RequestInit, expectStatus: number): Promise<Record<string, unknown>> {
  const response = await fetch(url, init);
  const body = (await response.json()) as Record<string, unknown>;
  if (response.status !== expectStatus) throw new Error(`bench: ${url} answered ${response.status}: ${JSON.stringify(body)}`);
  return body;
}

/** An account, a session and a ready 16 KB document, made through the public API. */
async function seed(url: string): Promise<{ token: string; documentId: string }> {
  const headers = { 'content-type': 'application/json' };
  const email = `reads-${Date.now()}@bench.test`;
  await json(
    `${url}/api/v1/auth/register`,
    { method: 'POST', headers, body: JSON.stringify({ email, password: PASSWORD, display_name: 'R' }) },
    201,
  );
  const { token } = (await json(
    `${url}/api/v1/auth/login`,
    { method: 'POST', headers, body: JSON.stringify({ email, password: PASSWORD }) },
    200,
  )) as {
    token: string;
  };
  const auth = { ...headers, authorization: `Bearer ${token}` };
  const { project } = (await json(`${url}/api/v1/projects`, { method: 'POST', headers: auth, body: '{"name":"reads"}' }, 201)) as {
    project: { id: string };
  };
  const line = 'export function handler(request: Request): Response { return new Response("ok"); }\n';
  const content = line.repeat(Math.ceil(16_384 / line.length)).slice(0, 16_384);
  const { document } = (await json(
    `${url}/api/v1/projects/${project.id}/documents`,
    { method: 'POST', headers: auth, body: JSON.stringify({ path: 'src/handler.ts', content }) },
    202,
  )) as { document: { id: string } };
  for (let attempt = 0; attempt < 300; attempt += 1) {
    const read = (await json(`${url}/api/v1/documents/${document.id}`, { headers: auth }, 200)) as { document: { state: string } };
    if (read.document.state === 'ready') return { token, documentId: document.id };
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error('bench: the document never became ready');
}

async function fixedRate(
  server: string,
  url: string,
  headers: Record<string, string>,
  seconds: number,
): Promise<RateRun & { gc: GcDuringRun }> {
  await autocannon({ url, headers, connections: CONNECTIONS, overallRate: RATE, duration: 2 }); // warm-up
  const before = await gcSamples(server);
  const run = await measuredRun({ url, headers, connections: CONNECTIONS, overallRate: RATE, duration: seconds });
  return { ...run, gc: gcBetween(before, await gcSamples(server)) };
}

async function benchShape(shape: Shape, seconds: number): Promise<Series[]> {
  const { url, child } = await startServer(shape);
  try {
    const { token, documentId } = await seed(url);
    const auth = { authorization: `Bearer ${token}` };
    const endpoints: [string, string, Record<string, string>][] = [
      ['GET /health/live', `${url}/health/live`, {}],
      ['GET /api/v1/auth/me', `${url}/api/v1/auth/me`, auth],
      ['GET /api/v1/documents/:id (16 KB)', `${url}/api/v1/documents/${documentId}`, auth],
    ];
    const series: Series[] = [];
    for (const [endpoint, target, headers] of endpoints) series.push({ endpoint, ...(await fixedRate(url, target, headers, seconds)) });
    return series;
  } finally {
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
  }
}

export async function benchReads(seconds = 20): Promise<BenchSection[]> {
  const shapes: Shape[] = [{ name: 'embedded', env: { DATA_DIR: mkdtempSync(join(tmpdir(), 'rampart-bench-reads-')) } }];
  if (scaleUrls) {
    const database = await createTestDatabase();
    shapes.push({
      name: 'scale',
      database,
      env: { DATABASE_URL: database.url, REDIS_URL: scaleUrls.redis, REDIS_KEY_PREFIX: `benchreads${Date.now()}:` },
    });
  }
  const sections: BenchSection[] = [];
  try {
    for (const shape of shapes) {
      const series = await benchShape(shape, seconds);
      const live = series[0] as Series;
      const verdicts = series.slice(1).map((read) => {
        const ratio = read.p99 / live.p99;
        const pass = ratio <= TARGET_RATIO && read.errors === 0;
        return { endpoint: read.endpoint, ratio, pass };
      });
      sections.push({
        name: `Authenticated reads at a fixed ${RATE} req/s, ${seconds} s each (${shape.name} shape)`,
        table: {
          columns: ['endpoint', 'requests', 'req/s', 'p50 ms', 'p95 ms', 'p99 ms', 'p99 / live p99', 'errors', 'server GC during the run'],
          rows: series.map((item) => [
            item.endpoint,
            item.n,
            item.rps,
            item.p50,
            item.p95,
            item.p99,
            (item.p99 / live.p99).toFixed(2),
            item.errors,
            describeGc(item.gc),
          ]),
        },
        notes: [
          ...verdicts.map(
            (verdict) =>
              `${verdict.endpoint}: p99 = ${verdict.ratio.toFixed(2)}x /health/live's (target <= ${TARGET_RATIO}x, 0 errors): ${verdict.pass ? 'PASS' : 'FAIL'}`,
          ),
          `reads targets (${shape.name}): ${verdicts.every((verdict) => verdict.pass) ? 'PASS' : 'FAIL'}`,
          `absolute p99 of the reads: ${series
            .slice(1)
            .map((item) => `${item.p99} ms`)
            .join(', ')} (the seed's bar is 100 ms)`,
          `a real \`rampart serve\` process (NODE_ENV=production, LOG_LEVEL=warn); autocannon with ${CONNECTIONS} connections shares the 2 cores with it`,
          "server GC: from the server's /metrics (prom-client's nodejs_gc_duration_seconds, old space used) before and after each measured run; a pause holds every request in flight for its length",
        ],
        data: { shape: shape.name, series, verdicts, pass: verdicts.every((verdict) => verdict.pass) },
      });
    }
  } finally {
    for (const shape of shapes) await shape.database?.drop();
    // The scale server's keys (rate-limit counters, the vote stream it prepared, the overview) go with it.
    for (const shape of shapes)
      if (shape.env.REDIS_KEY_PREFIX && scaleUrls) await deleteKeysAt(scaleUrls.redis, shape.env.REDIS_KEY_PREFIX);
  }
  if (!scaleUrls) {
    const first = sections[0];
    first?.notes.push('scale shape not measured: set TEST_DATABASE_URL and TEST_REDIS_URL');
  }
  return sections;
}
