// `npm run scan`: Debian's sqlmap against every query parameter and JSON body field that
// reaches SQL, on a real `rampart serve` (embedded shape). The scan's own account is named
// in RATE_LIMIT_EXEMPT_ACCOUNTS so its volume is not limited; nobody else's limits change.
// Fails on any injectable finding, on any 5xx sqlmap provoked, or on a target it could not
// finish within the time budget (SCAN_BUDGET_SECONDS, default 300). SCAN_LEVEL and SCAN_RISK
// (default 2 and 2) are sqlmap's --level and --risk. Then the route fuzz test's hostile values
// at ten times its volume (SCAN_FUZZ_RUNS random requests per operation, default 600, against
// the test's 60), in the embedded shape: a 5xx for any of them fails the scan too.
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, runCli, startCli, waitForHttp } from '../test/helpers/processes.ts';

const EMAIL = 'scanner@scan.test';
const PASSWORD = 'scan-violet-otter-meadow-42';
const budgetSeconds = Number(process.env.SCAN_BUDGET_SECONDS ?? 300);
const level = process.env.SCAN_LEVEL ?? '2';
const risk = process.env.SCAN_RISK ?? '2';
const fuzzRuns = process.env.SCAN_FUZZ_RUNS ?? '600';

// Before anything starts: a missing sqlmap would otherwise end the run with the server left running.
if (spawnSync('sqlmap', ['--version'], { stdio: 'ignore' }).error) {
  console.error('scan: sqlmap is not installed (Debian: apt-get install sqlmap)');
  process.exit(1);
}

const dataDir = mkdtempSync(join(tmpdir(), 'rampart-scan-'));
const env = { DATA_DIR: dataDir, NODE_ENV: 'production', LOG_LEVEL: 'warn' };
const created = await runCli(['user', 'create', '--admin', '--email', EMAIL, '--password', PASSWORD], env);
const accountId = /\(([0-9a-f-]{36})\)/.exec(created.output)?.[1];
if (created.code !== 0 || !accountId) throw new Error(`scan: could not create the scan account: ${created.output}`);
const port = await freePort();
const base = `http://127.0.0.1:${port}`;
const server = startCli(['serve'], { ...env, PORT: String(port), RATE_LIMIT_EXEMPT_ACCOUNTS: accountId });

async function call(path: string, method: string, token: string | undefined, body?: unknown): Promise<Record<string, unknown>> {
  const response = await fetch(`${base}${path}`, {
    method,
    headers: {
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const parsed = (await response.json()) as Record<string, unknown>;
  if (response.status >= 300) throw new Error(`scan: ${method} ${path} answered ${response.status}: ${JSON.stringify(parsed)}`);
  return parsed;
}

interface Target {
  name: string;
  url: string;
  /** A JSON body (POST); its string and number fields are the injection points. */
  data?: string;
}

interface Outcome {
  target: string;
  seconds: number;
  finished: boolean;
  injectable: boolean;
  serverErrors: string | undefined;
  requests?: number;
}

/** sqlmap lists the HTTP error codes it met, one `NNN (Reason) - N times` line each: the 5xx ones. */
function serverErrors(output: string): string | undefined {
  const found = [...output.matchAll(/^(5\d\d \([^)]*\) - \d+ times)$/gm)].map((match) => match[1]);
  return found.length > 0 ? found.join(', ') : undefined;
}

/** Requests the server answered so far on /api/v1 (its own counter; /metrics is open to loopback). */
async function answered(): Promise<number> {
  const text = await (await fetch(`${base}/metrics`)).text();
  let total = 0;
  for (const match of text.matchAll(/^rampart_http_requests_total\{route="\/api\/v1[^}]*\} (\d+)$/gm)) total += Number(match[1]);
  return total;
}

function sqlmap(target: Target, token: string, seconds: number, outputDir: string): Promise<Outcome> {
  const args = [
    '-u',
    target.url,
    ...(target.data ? ['--data', target.data, '--method', 'POST'] : []),
    '--headers',
    `Authorization: Bearer ${token}`,
    '--batch',
    `--level=${level}`,
    `--risk=${risk}`,
    '--dbms=PostgreSQL',
    '--technique=BEUST',
    '--time-sec=3',
    '--flush-session',
    '--disable-coloring',
    `--output-dir=${outputDir}`,
  ];
  const started = performance.now();
  return new Promise((resolve) => {
    const child = spawn('sqlmap', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk) => {
      output += chunk;
    });
    child.stderr.on('data', (chunk) => {
      output += chunk;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), seconds * 1000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      writeFileSync(join(outputDir, `${target.name.replace(/[^a-z0-9]+/gi, '_')}.log`), output);
      const finished = code === 0 && /\[\*\] ending @/.test(output);
      resolve({
        target: target.name,
        seconds: Math.round((performance.now() - started) / 1000),
        finished,
        // sqlmap's first guesses ("appears to be ... injectable") are often withdrawn on checking; these two lines are its confirmed findings.
        injectable: /identified the following injection point|parameter '[^']*' is vulnerable/i.test(output),
        serverErrors: serverErrors(output),
      });
    });
  });
}

let failed = false;
try {
  await Promise.race([
    waitForHttp(`${base}/health/live`, 120_000),
    server.exited.then(() => Promise.reject(new Error(`scan: serve exited: ${server.output()}`))),
  ]);
  const { token } = (await call('/api/v1/auth/login', 'POST', undefined, { email: EMAIL, password: PASSWORD })) as { token: string };
  // Rows for every listing to find, and second pages so the cursors are real ones.
  const { project } = (await call('/api/v1/projects', 'POST', token, { name: 'scan' })) as { project: { id: string } };
  for (const path of ['src/a.ts', 'src/b.ts'])
    await call(`/api/v1/projects/${project.id}/documents`, 'POST', token, { path, content: 'export const handler = 1;\n' });
  for (const i of [1, 2]) {
    await call('/api/v1/polls', 'POST', token, { question: `scan ${i}`, options: ['a', 'b'] });
    await call('/api/v1/knowledge/entries', 'POST', token, { title: `scan ${i}`, content: 'handler notes', tags: ['scan'] });
  }
  const cursor = async (path: string) => encodeURIComponent(((await call(path, 'GET', token)).next_cursor as string | null) ?? 'x');
  const targets: Target[] = [
    {
      name: 'GET /api/v1/projects/:id/documents',
      url: `${base}/api/v1/projects/${project.id}/documents?prefix=src&q=handler&limit=1&cursor=${await cursor(`/api/v1/projects/${project.id}/documents?limit=1`)}`,
    },
    { name: 'GET /api/v1/documents/search', url: `${base}/api/v1/documents/search?q=handler&limit=10` },
    { name: 'GET /api/v1/knowledge/search', url: `${base}/api/v1/knowledge/search?q=handler&k=5&mode=text` },
    {
      name: 'GET /api/v1/knowledge/entries',
      url: `${base}/api/v1/knowledge/entries?limit=1&cursor=${await cursor('/api/v1/knowledge/entries?limit=1')}`,
    },
    { name: 'GET /api/v1/polls', url: `${base}/api/v1/polls?limit=1&cursor=${await cursor('/api/v1/polls?limit=1')}` },
    { name: 'GET /api/v1/admin/users', url: `${base}/api/v1/admin/users?limit=1&cursor=x` },
    { name: 'POST /api/v1/projects', url: `${base}/api/v1/projects`, data: '{"name":"scan project"}' },
    {
      name: 'POST /api/v1/projects/:id/documents',
      url: `${base}/api/v1/projects/${project.id}/documents`,
      data: '{"path":"scan/c.ts","content":"export const c = 1;"}',
    },
    { name: 'POST /api/v1/polls', url: `${base}/api/v1/polls`, data: '{"question":"scan poll","options":["a","b"]}' },
    {
      name: 'POST /api/v1/knowledge/entries',
      url: `${base}/api/v1/knowledge/entries`,
      data: '{"title":"scan entry","content":"scan content","tags":["scan"]}',
    },
    {
      name: 'POST /api/v1/knowledge/context',
      url: `${base}/api/v1/knowledge/context`,
      data: '{"query":"handler","max_context_length":500}',
    },
  ];
  const outputDir = join(tmpdir(), `rampart-sqlmap-${Date.now()}`);
  mkdirSync(outputDir, { recursive: true });
  const deadline = performance.now() + budgetSeconds * 1000;
  console.log(`scan: sqlmap --level=${level} --risk=${risk} on ${targets.length} targets within ${budgetSeconds} s (logs in ${outputDir})`);
  const outcomes: Outcome[] = [];
  for (const target of targets) {
    // The budget bounds the whole scan, not each target: a slow target may use what quick ones left.
    const share = Math.floor((deadline - performance.now()) / 1000);
    if (share < 1) {
      outcomes.push({ target: target.name, seconds: 0, finished: false, injectable: false, serverErrors: undefined });
      console.log(`  NOT RUN      ${target.name} (the ${budgetSeconds} s budget is spent)`);
      continue;
    }
    const before = await answered();
    const outcome = await sqlmap(target, token, share, outputDir);
    const requests = (await answered()) - before;
    outcomes.push({ ...outcome, requests });
    const verdict = outcome.injectable ? 'INJECTABLE' : outcome.serverErrors ? '5xx' : outcome.finished ? 'clean' : 'NOT FINISHED';
    console.log(
      `  ${verdict.padEnd(12)} ${target.name} (${requests} requests, ${outcome.seconds} s)${outcome.serverErrors ? `: ${outcome.serverErrors}` : ''}`,
    );
  }
  failed = outcomes.some((outcome) => outcome.injectable || outcome.serverErrors !== undefined || !outcome.finished);
  const requests = outcomes.reduce((sum, outcome) => sum + (outcome.requests ?? 0), 0);
  console.log(`scan: ${failed ? 'FAIL' : 'PASS'}: ${requests} requests, ${outcomes.filter((o) => o.injectable).length} injectable targets`);
} finally {
  server.child.kill('SIGTERM');
  await server.exited;
}

/** The route fuzz test with FUZZ_RUNS raised; its own output goes to the console. */
function hostileValuesAtVolume(): Promise<boolean> {
  const { TEST_DATABASE_URL: _database, TEST_REDIS_URL: _redis, ...embeddedOnly } = process.env;
  return new Promise((resolve) => {
    const child = spawn(join(import.meta.dirname, '../node_modules/.bin/vitest'), ['run', 'test/attack/route-fuzz.test.ts'], {
      cwd: join(import.meta.dirname, '..'),
      env: { ...embeddedOnly, FUZZ_RUNS: fuzzRuns },
      stdio: 'inherit',
    });
    child.on('exit', (code) => resolve(code === 0));
  });
}

console.log(`scan: the route fuzz test's hostile values, ${fuzzRuns} random requests per operation after the sweep`);
const fuzzStarted = performance.now();
const fuzzPassed = await hostileValuesAtVolume();
console.log(`scan: hostile values at volume: ${fuzzPassed ? 'PASS' : 'FAIL'} in ${Math.round((performance.now() - fuzzStarted) / 1000)} s`);
if (failed || !fuzzPassed) process.exit(1);
