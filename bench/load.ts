// `npm run load -- --url <base> --email <e> --password <p> [--rate 500] [--duration 60s]
// [--mix reads=70,uploads=10,votes=20] [--metrics-token <t>] [--i-own-this-host]`: a load
// test against a running deployment. Signs in, runs the mix at a fixed rate with autocannon
// (one instance per route), prints live progress, then a table per route and, with a
// metrics token, the server's own /metrics counter deltas. Refuses a non-loopback host
// unless told the host is the caller's own.
import { parseArgs } from 'node:util';
import { formatCounts, type LoadEvent, type RouteLoad, startLoad, summariseEvents } from './mixed-load.ts';

const usage =
  'usage: npm run load -- --url <base url> --email <email> --password <password> [--rate 500] [--duration 60s] [--mix reads=70,uploads=10,votes=20] [--connections 32] [--polls 200] [--metrics-token <token>] [--i-own-this-host]';

const { values } = parseArgs({
  options: {
    url: { type: 'string' },
    email: { type: 'string' },
    password: { type: 'string' },
    rate: { type: 'string', default: '500' },
    duration: { type: 'string', default: '60s' },
    mix: { type: 'string', default: 'reads=70,uploads=10,votes=20' },
    connections: { type: 'string', default: '32' },
    polls: { type: 'string', default: '200' },
    'metrics-token': { type: 'string' },
    'i-own-this-host': { type: 'boolean', default: false },
  },
});

function fail(message: string): never {
  console.error(`load: ${message}\n${usage}`);
  process.exit(2);
}

if (!values.url || !values.email || !values.password) fail('--url, --email and --password are required');
const base = new URL(values.url);
const loopback = ['localhost', '[::1]', '::1'].includes(base.hostname) || /^127\.\d+\.\d+\.\d+$/.test(base.hostname);
if (!loopback && !values['i-own-this-host'])
  fail(`${base.hostname} is not a loopback address: load-testing a host is only for its owner; add --i-own-this-host if it is yours`);
const seconds = Number(/^(\d+)s?$/.exec(values.duration)?.[1] ?? fail('--duration is whole seconds, like 60s'));
const rate = Number(values.rate);
if (!Number.isInteger(rate) || rate < 1) fail('--rate is a whole number of requests per second');
const mix = Object.fromEntries(
  values.mix.split(',').map((part) => {
    const [name, weight] = part.split('=');
    if (!name || !['reads', 'uploads', 'votes'].includes(name) || !Number.isFinite(Number(weight))) fail(`bad --mix entry "${part}"`);
    return [name, Number(weight)];
  }),
) as Record<'reads' | 'uploads' | 'votes', number | undefined>;
const origin = base.origin;

async function call(path: string, method: string, token: string | undefined, body?: unknown): Promise<Record<string, unknown>> {
  const response = await fetch(`${origin}${path}`, {
    method,
    headers: {
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const parsed = (await response.json().catch(() => ({}))) as Record<string, unknown>;
  if (response.status >= 300) fail(`${method} ${path} answered ${response.status}: ${JSON.stringify(parsed)}`);
  return parsed;
}

/** The server's own counters (Prometheus text), by series. */
async function scrape(): Promise<Map<string, number> | undefined> {
  if (!values['metrics-token']) return undefined;
  const response = await fetch(`${origin}/metrics`, { headers: { authorization: `Bearer ${values['metrics-token']}` } });
  if (!response.ok) fail(`/metrics answered ${response.status}: is the metrics token right?`);
  const series = new Map<string, number>();
  for (const line of (await response.text()).split('\n')) {
    const match = /^(rampart_[a-z_]*_total(?:\{[^}]*\})?) ([0-9.e+-]+)$/.exec(line);
    if (match) series.set(match[1] as string, Number(match[2]));
  }
  return series;
}

const { token } = (await call('/api/v1/auth/login', 'POST', undefined, { email: values.email, password: values.password })) as {
  token: string;
};
const auth = { authorization: `Bearer ${token}` };
const json = { ...auth, 'content-type': 'application/json' };
const runId = new Date().toISOString().replace(/[:.]/g, '-');
const routes: RouteLoad[] = [];
if (mix.reads) {
  routes.push(
    { name: 'GET /api/v1/auth/me', weight: mix.reads / 2, request: () => ({ method: 'GET', path: '/api/v1/auth/me', headers: auth }) },
    { name: 'GET /api/v1/projects', weight: mix.reads / 4, request: () => ({ method: 'GET', path: '/api/v1/projects', headers: auth }) },
    {
      name: 'GET /api/v1/documents/search',
      weight: mix.reads / 4,
      request: () => ({ method: 'GET', path: '/api/v1/documents/search?q=load', headers: auth }),
    },
  );
}
if (mix.uploads) {
  const { project } = (await call('/api/v1/projects', 'POST', token, { name: `load test ${runId}` })) as { project: { id: string } };
  let n = 0;
  routes.push({
    name: 'POST /api/v1/projects/:id/documents',
    weight: mix.uploads,
    request: () => {
      n += 1;
      const body = JSON.stringify({ path: `load/${runId}/file-${n}.ts`, content: `// load test upload ${n}\nexport const n = ${n};\n` });
      return { method: 'POST', path: `/api/v1/projects/${project.id}/documents`, headers: json, body };
    },
  });
}
if (mix.votes) {
  // One account votes once per poll: the first vote in each poll is 202, later ones 409 ALREADY_VOTED.
  const pollIds: string[] = [];
  const polls = Math.max(1, Number(values.polls));
  console.error(`load: creating ${polls} polls to vote in...`);
  for (let i = 0; i < polls; i += 1) {
    const { poll } = (await call('/api/v1/polls', 'POST', token, { question: `load test ${runId} #${i}`, options: ['a', 'b'] })) as {
      poll: { id: string };
    };
    pollIds.push(poll.id);
  }
  let k = 0;
  routes.push({
    name: 'POST /api/v1/polls/:id/votes',
    weight: mix.votes,
    request: () => ({ method: 'POST', path: `/api/v1/polls/${pollIds[k++ % pollIds.length]}/votes`, headers: json, body: '{"option":0}' }),
  });
}
if (routes.length === 0) fail('--mix has nothing to run');

const before = await scrape();
console.error(`load: ${rate} req/s for ${seconds} s against ${origin} (${values.mix})`);
let shown = 0;
const run = startLoad({
  targets: [origin],
  routes,
  rate,
  seconds,
  connections: Number(values.connections),
  onProgress: (events: LoadEvent[], elapsedMs: number) => {
    const fresh = events.slice(shown);
    shown = events.length;
    const failed = fresh.filter((event) => event.status === 0 || event.status >= 400).length;
    process.stderr.write(
      `${process.stderr.isTTY ? '\r' : '\n'}${(elapsedMs / 1000).toFixed(0).padStart(4)} s  ${fresh.length.toString().padStart(6)} req/s  ${failed.toString().padStart(5)} failed/s  ${events.length} in all   `,
    );
  },
});
const events = await run.done;
process.stderr.write('\n');
const after = await scrape();

const rows = summariseEvents(events, seconds);
const table = [
  ['route', 'requests', 'req/s', 'p50 ms', 'p95 ms', 'p99 ms', 'by status', 'transport errors'],
  ...rows.map((row) => [
    row.route,
    String(row.requests),
    String(row.rps),
    String(row.p50),
    String(row.p95),
    String(row.p99),
    formatCounts(row.byStatus),
    formatCounts(row.transportErrors),
  ]),
];
const widths = (table[0] as string[]).map((_, column) => Math.max(...table.map((row) => (row[column] as string).length)));
for (const row of table) console.log(row.map((cell, column) => cell.padEnd(widths[column] as number)).join('  '));
const total = events.length;
const failed = events.filter((event) => event.status === 0 || event.status >= 500).length;
console.log(`\n${total} requests in ${seconds} s (${Math.round(total / seconds)} req/s), ${failed} 5xx or transport errors`);
if (before && after) {
  console.log('\nserver counters (/metrics), change during the run:');
  for (const [series, value] of after) {
    const delta = value - (before.get(series) ?? 0);
    if (delta !== 0) console.log(`  ${series} +${delta}`);
  }
}
