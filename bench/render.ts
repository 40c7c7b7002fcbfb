// Render bench (issue 17): a 10 KB Markdown document with 5 fenced blocks in 3 languages,
// POST /api/v1/render at a fixed 200 requests/s for 20 s, cold (every request a distinct
// document; in-process, three rounds, judged by their median) and warm (cached), against a
// real `rampart serve` rendering in-process and one calling a real `rampart render`; the
// API's event-loop delay during the cold runs; heap across 100,000 renders; baseline in the
// same run: markdown-it alone on the same input, in-process.
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import MarkdownIt from 'markdown-it';
import { loadConfig } from '../src/config.ts';
import { RenderService } from '../src/modules/render/service.ts';
import { AppError } from '../src/platform/errors.ts';
import { freePort } from '../test/helpers/processes.ts';
import { type BenchSection, type RateRun, summarise } from './lib.ts';
import { pacedRun } from './paced-load.ts';

const RATE = 200;
const CONNECTIONS = 16;
const PASSWORD = 'bench-render-password-1';
const TARGETS = { coldP95: 30, warmP95: 5, heapGrowth: 0.1, loopDelayP99: 20 };
const HEAP_RENDERS = 100_000;
const COLD_ROUNDS = 3;

const BLOCKS = [
  [
    'python',
    'def handler(event: dict) -> dict:\n    """Answer one event."""\n    total = sum(x * 2 for x in event["items"])  # doubled\n    return {"total": total, "ok": True}\n',
  ],
  [
    'typescript',
    'export async function load(id: string): Promise<Row | undefined> {\n  const rows = await db.query<Row>("select * from t where id = $1", [id]);\n  return rows[0]; // first\n}\n',
  ],
  [
    'sql',
    "SELECT u.id, count(*) AS n\nFROM users u JOIN sessions s ON s.user_id = u.id\nWHERE s.expires_at > now() AND u.email LIKE '%@example.com'\nGROUP BY u.id ORDER BY n DESC LIMIT 10;\n",
  ],
] as const;

/** About 10 KB: prose, lists, links and 5 fenced blocks in 3 languages; `nonce` makes it distinct. */
export function benchDocument(nonce: string): string {
  const prose = `Rampart renders **Markdown** with _fenced code_, [links](https://example.com/docs) and \`inline code\`. Run ${nonce}.\n\n- one item\n- two items with a [reference][ref]\n\n`;
  const parts = [`# Render bench ${nonce}\n\n`];
  for (let index = 0; index < 5; index += 1) {
    const [language, code] = BLOCKS[index % BLOCKS.length] as (typeof BLOCKS)[number];
    parts.push(`## Part ${index + 1}\n\n`, prose.repeat(4), `\`\`\`${language}\n${code.repeat(3)}\`\`\`\n\n`);
  }
  parts.push('[ref]: https://example.com/ref\n');
  let text = parts.join('');
  while (text.length < 10_240) text += prose;
  return text.slice(0, 10_240);
}

interface Server {
  url: string;
  child: ChildProcess;
  output: () => string;
}

async function startProcess(args: string[], env: Record<string, string>, ready: string): Promise<Server> {
  const child = spawn(process.execPath, args, {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, NODE_ENV: 'production', LOG_LEVEL: 'warn', ...env },
  });
  let output = '';
  child.stdout?.on('data', (chunk) => {
    output += chunk;
  });
  for (let attempt = 0; attempt < 900 && child.exitCode === null; attempt += 1) {
    try {
      if ((await fetch(ready)).ok) return { url: new URL(ready).origin, child, output: () => output };
    } catch {}
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  child.kill('SIGKILL');
  throw new Error(`bench: ${args.join(' ')} never became ready`);
}

async function stopProcess(server: Server): Promise<void> {
  const exited = new Promise((resolve) => server.child.once('exit', resolve));
  server.child.kill('SIGTERM');
  await exited;
}

async function startServe(env: Record<string, string>): Promise<Server> {
  const port = await freePort();
  const cli = join(import.meta.dirname, '../src/cli.ts');
  const probe = join(import.meta.dirname, 'servers/loop-delay-probe.ts');
  return startProcess(
    ['--import', probe, cli, 'serve'],
    {
      ...env,
      PORT: String(port),
      DATA_DIR: mkdtempSync(join(tmpdir(), 'rampart-bench-render-')),
      // 200 requests/s from one address is this bench's load, not an attack.
      API_RATE_LIMIT_PER_MINUTE: '1000000',
      WRITE_RATE_LIMIT_PER_MINUTE: '1000000',
    },
    `http://127.0.0.1:${port}/health/ready`,
  );
}

async function signIn(url: string): Promise<string> {
  const headers = { 'content-type': 'application/json' };
  const email = `render-${Date.now()}@bench.test`;
  await fetch(`${url}/api/v1/auth/register`, {
    method: 'POST',
    headers,
    body: JSON.stringify({ email, password: PASSWORD, display_name: 'R' }),
  });
  const login = await fetch(`${url}/api/v1/auth/login`, { method: 'POST', headers, body: JSON.stringify({ email, password: PASSWORD }) });
  return ((await login.json()) as { token: string }).token;
}

async function loopDelay(server: Server, signal: 'SIGUSR1' | 'SIGUSR2'): Promise<{ p50: number; p99: number; max: number } | undefined> {
  const before = server.output().length;
  server.child.kill(signal);
  if (signal === 'SIGUSR2') return undefined;
  for (let attempt = 0; attempt < 100; attempt += 1) {
    const line = /LOOP_DELAY (\{.*\})/.exec(server.output().slice(before))?.[1];
    if (line) return JSON.parse(line);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return undefined;
}

type ColdRun = RateRun & { loopDelay?: { p50: number; p99: number; max: number } };

/**
 * The cold verdict's figures: the median of the rounds' p95 and of their loop-delay p99. The
 * machine is shared; one 20 s window can fall in a slow spell of the host (a CPU-bound loop
 * here ran at 0.55-1.1x its median speed from one 200 ms to the next), so every round is in the table.
 */
function medianRound(rounds: ColdRun[]): ColdRun {
  const middle = <T>(values: T[], by: (value: T) => number) =>
    [...values].sort((a, b) => by(a) - by(b))[Math.floor(values.length / 2)] as T;
  const byP95 = middle(rounds, (run) => run.p95);
  const delays = rounds.flatMap((run) => (run.loopDelay ? [run.loopDelay] : []));
  return { ...byP95, loopDelay: delays.length === rounds.length ? middle(delays, (delay) => delay.p99) : undefined };
}

async function fixedRate(url: string, token: string, cold: boolean, seconds: number): Promise<RateRun> {
  const warmBody = JSON.stringify({ markdown: benchDocument('warm') });
  const runTag = randomBytes(4).toString('hex');
  // Made before the clock starts: the generator shares the 2 cores with the server it measures.
  const coldBodies = cold
    ? Array.from({ length: RATE * seconds }, (_, index) => JSON.stringify({ markdown: benchDocument(`${runTag}-${index}`) }))
    : [];
  let counter = 0;
  return pacedRun(
    `${url}/api/v1/render`,
    {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: () => (cold ? (coldBodies[counter++] as string) : warmBody),
    },
    { rate: RATE, seconds, connections: CONNECTIONS },
  );
}

function baseline(): { n: number; p50: number; p95: number; p99: number } {
  const md = new MarkdownIt({ html: false, linkify: true });
  const samples: number[] = [];
  for (let index = 0; index < 2_000; index += 1) {
    const text = benchDocument(`baseline-${index}`);
    const started = performance.now();
    md.render(text);
    samples.push(performance.now() - started);
  }
  return summarise(samples.slice(200));
}

/** Heap used (after a full GC) after the first 10% and after all of 100,000 renders through the service (1 in 20 a new document). */
async function heapAcrossRenders(): Promise<{ early: number; late: number; growth: number; renders: number; timeouts: number }> {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  const service = new RenderService(loadConfig({ RENDER_CACHE_SIZE: '8mb' }).render);
  const documents = Array.from({ length: 50 }, (_, index) => benchDocument(`heap-${index}`));
  const heapMb = () => {
    gc();
    return process.memoryUsage().heapUsed / 1024 / 1024;
  };
  let early = 0;
  // A render past RENDER_TIMEOUT_MS (a starved machine) is an error the verdict counts, not the end of the bench.
  let timeouts = 0;
  try {
    for (let index = 0; index < HEAP_RENDERS; index += 1) {
      const text = index % 20 === 0 ? benchDocument(`heap-cold-${index}`) : (documents[index % documents.length] as string);
      try {
        await service.markdown(text);
      } catch (error) {
        if (!(error instanceof AppError && error.code === 'TIMEOUT')) throw error;
        timeouts += 1;
      }
      if (index === HEAP_RENDERS / 10) early = heapMb();
    }
    const late = heapMb();
    return {
      early: Math.round(early * 10) / 10,
      late: Math.round(late * 10) / 10,
      growth: (late - early) / early,
      renders: HEAP_RENDERS,
      timeouts,
    };
  } finally {
    await service.close();
  }
}

export async function benchRender(seconds = 20): Promise<BenchSection[]> {
  const base = baseline();
  const token = randomBytes(32).toString('hex');
  const renderPort = await freePort();
  const renderService = await startProcess(
    [join(import.meta.dirname, '../src/cli.ts'), 'render'],
    { RENDER_PORT: String(renderPort), RENDER_TOKEN: token },
    `http://127.0.0.1:${renderPort}/health/ready`,
  );
  const rows: (string | number)[][] = [];
  const runs: Record<string, ColdRun> = {};
  const coldRounds: ColdRun[] = [];
  try {
    for (const [path, env] of [
      ['in-process', {}],
      ['through rampart render', { RENDER_URL: `http://127.0.0.1:${renderPort}`, RENDER_TOKEN: token }],
    ] as const) {
      const server = await startServe(env);
      try {
        const bearer = await signIn(server.url);
        await fixedRate(server.url, bearer, true, 2); // warm-up: threads started, code optimised
        const rounds: ColdRun[] = [];
        for (let round = 0; round < (path === 'in-process' ? COLD_ROUNDS : 1); round += 1) {
          await loopDelay(server, 'SIGUSR2');
          const run = await fixedRate(server.url, bearer, true, seconds);
          rounds.push({ ...run, loopDelay: await loopDelay(server, 'SIGUSR1') });
        }
        await fixedRate(server.url, bearer, false, 2); // warm-up: the cold run's queue drained, the document cached
        const warm = await fixedRate(server.url, bearer, false, seconds);
        runs[`${path} cold`] = medianRound(rounds);
        if (rounds.length > 1) coldRounds.push(...rounds);
        runs[`${path} warm`] = warm;
        rounds.forEach((cold, round) => {
          rows.push([
            rounds.length > 1 ? `${path}, cold, round ${round + 1} of ${rounds.length}` : `${path}, cold`,
            cold.n,
            cold.rps,
            cold.p50,
            cold.p95,
            cold.p99,
            cold.errors,
            cold.loopDelay ? `${cold.loopDelay.p99} (max ${cold.loopDelay.max})` : '?',
          ]);
        });
        rows.push([`${path}, warm`, warm.n, warm.rps, warm.p50, warm.p95, warm.p99, warm.errors, '']);
      } finally {
        await stopProcess(server);
      }
    }
  } finally {
    await stopProcess(renderService);
  }
  rows.push(['baseline: markdown-it alone, same input, in this process', base.n, '', base.p50, base.p95, base.p99, '', '']);
  const heap = await heapAcrossRenders();
  const cold = runs['in-process cold'] as RateRun & { loopDelay?: { p99: number } };
  const warm = runs['in-process warm'] as RateRun;
  const verdict = (pass: boolean) => (pass ? 'PASS' : 'FAIL');
  const checks = [
    [
      `cold p95 in-process ${cold.p95} ms, the median of ${COLD_ROUNDS} rounds' (${coldRounds.map((run) => run.p95).join(', ')}) (target < ${TARGETS.coldP95} ms at ${RATE} req/s)`,
      cold.p95 < TARGETS.coldP95,
    ],
    [`warm p95 in-process ${warm.p95} ms (target < ${TARGETS.warmP95} ms)`, warm.p95 < TARGETS.warmP95],
    [
      `heap across ${heap.renders.toLocaleString('en')} renders: ${heap.early} MB after 10 %, ${heap.late} MB at the end, ${(heap.growth * 100).toFixed(1)} % (target within ${TARGETS.heapGrowth * 100} %)`,
      Math.abs(heap.growth) <= TARGETS.heapGrowth,
    ],
    [
      `errors: ${Object.values(runs).reduce((sum, run) => sum + run.errors, 0)} over HTTP, ${heap.timeouts} timeouts across the heap run's renders (target 0, every run)`,
      Object.values(runs).every((run) => run.errors === 0) && heap.timeouts === 0,
    ],
    [
      `API event-loop delay p99 during the in-process cold runs: ${cold.loopDelay?.p99 ?? '?'} ms, the median of the rounds' (target < ${TARGETS.loopDelayP99} ms)`,
      (cold.loopDelay?.p99 ?? Number.POSITIVE_INFINITY) < TARGETS.loopDelayP99,
    ],
  ] as const;
  const pass = checks.every(([, ok]) => ok);
  return [
    {
      name: `Render: a 10 KB Markdown document, 5 fenced blocks in 3 languages, at a fixed ${RATE} req/s, ${seconds} s each`,
      table: { columns: ['path', 'requests', 'req/s', 'p50 ms', 'p95 ms', 'p99 ms', 'errors', 'API loop delay p99 ms'], rows },
      notes: [
        ...checks.map(([text, ok]) => `${text}: ${verdict(ok)}`),
        `render targets: ${verdict(pass)}`,
        `through \`rampart render\` the same targets are reported for information: cold p95 ${runs['through rampart render cold']?.p95} ms, warm p95 ${runs['through rampart render warm']?.p95} ms`,
        `real \`rampart serve\` processes (embedded shape, NODE_ENV=production, LOG_LEVEL=warn) and a real \`rampart render\`; an open-loop load at a steady ${RATE} requests/s (one request every ${1000 / RATE} ms, answered or not; bench/paced-load.ts) over ${CONNECTIONS} keep-alive connections, latency from each request's send to its last byte; all on the same 2 shared cores; cold = every request a distinct document (a nonce in its text), warm = one document, cached`,
        `heap: measured in the bench process through RenderService (1 in 20 renders a new document, the rest cached; 8 MB cache), heapUsed after a full GC`,
      ],
      data: { rate: RATE, seconds, runs, coldRounds, baseline: base, heap, targets: TARGETS, pass },
    },
  ];
}
