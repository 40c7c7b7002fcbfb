// Throughput and p99 of GET /health/live through the full hardened Rampart stack vs a
// reference (bare Fastify sending the same response headers as Rampart: the target) and
// Express 5 + helmet + cors + express-rate-limit, each in its own process, plus bare
// Fastify and a floor (Node's http server without and with those headers) for information.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { freePort } from '../test/helpers/processes.ts';
import { type BenchSection, percentile } from './lib.ts';

interface Target {
  name: string;
  path: string;
  start(port: number): ChildProcess;
}

const node = process.execPath;
// The servers' own output would interleave with ours; their errors still show.
const stdio: ['ignore', 'ignore', 'inherit'] = ['ignore', 'ignore', 'inherit'];
const here = import.meta.dirname;
const BARE = 'bare Fastify';
const HARDENED = 'Rampart (hardened)';
const EXPRESS = 'Express 5 + helmet + cors + rate limit';
const REFERENCE = 'bare Fastify + the same response headers (reference)';
const NODE = 'Node http, no framework';
const NODE_WITH_HEADERS = 'Node http + the same response headers';

const targets: Target[] = [
  {
    name: BARE,
    path: '/health/live',
    start: (port) => spawn(node, [join(here, 'servers/bare-fastify.ts'), String(port)], { stdio }),
  },
  {
    name: HARDENED,
    path: '/health/live',
    start: (port) =>
      spawn(node, [join(here, '../src/cli.ts'), 'serve'], {
        stdio,
        env: {
          ...process.env,
          PORT: String(port),
          DATA_DIR: mkdtempSync(join(tmpdir(), 'rampart-bench-')),
          LOG_LEVEL: 'warn',
          NODE_ENV: 'production',
          CORS_ORIGINS: 'https://app.example',
          API_RATE_LIMIT_PER_MINUTE: '1000000',
        },
      }),
  },
  {
    name: REFERENCE,
    path: '/health/live',
    start: (port) => spawn(node, [join(here, 'servers/fastify-same-headers.ts'), String(port)], { stdio }),
  },
  {
    name: NODE,
    path: '/health/live',
    start: (port) => spawn(node, [join(here, 'servers/node-http.ts'), String(port)], { stdio }),
  },
  {
    name: NODE_WITH_HEADERS,
    path: '/health/live',
    start: (port) => spawn(node, [join(here, 'servers/node-http.ts'), String(port), 'with-headers'], { stdio }),
  },
  {
    name: EXPRESS,
    path: '/health/live',
    start: (port) => spawn(node, [join(here, 'servers/express-hardened.ts'), String(port)], { stdio }),
  },
];

async function waitUntilServing(url: string): Promise<void> {
  for (let attempt = 0; attempt < 300; attempt += 1) {
    try {
      if ((await fetch(url)).ok) return;
    } catch {}
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${url} never answered`);
}

async function measure(
  target: Target,
  seconds: number,
): Promise<{ rps: number; p99: number; errors: number; cpuMicrosPerRequest: number }> {
  const port = await freePort();
  const child = target.start(port);
  try {
    const url = `http://127.0.0.1:${port}${target.path}`;
    await waitUntilServing(url);
    await autocannon({ url, connections: 32, duration: 2 }); // warm-up
    const cpuBefore = cpuSeconds(child.pid);
    // autocannon's own histogram keeps whole milliseconds, so a sub-millisecond p99 reads
    // as 0; its per-response event carries the fractional duration.
    const latenciesMs: number[] = [];
    const result = await new Promise<autocannon.Result>((resolve, reject) => {
      const instance = autocannon({ url, connections: 32, duration: seconds }, (error, finished) =>
        error ? reject(error) : resolve(finished),
      );
      instance.on('response', (_client, _status, _bytes, durationMs) => latenciesMs.push(durationMs));
    });
    const cpuMicrosPerRequest = ((cpuSeconds(child.pid) - cpuBefore) * 1e6) / result.requests.total;
    return {
      rps: result.requests.average,
      p99: percentile(
        latenciesMs.sort((a, b) => a - b),
        99,
      ),
      errors: result.errors + result.non2xx,
      cpuMicrosPerRequest,
    };
  } finally {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    }
  }
}

/**
 * CPU seconds (user + system) a process has used, from /proc: the server's own cost per
 * request, which scheduling noise on a shared machine blurs far less than req/s.
 */
function cpuSeconds(pid: number | undefined): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return Number.NaN;
  }
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] as number;

export async function benchEdge(rounds = 3, seconds = 8): Promise<BenchSection[]> {
  const samples = new Map<string, { rps: number[]; p99: number[]; cpu: number[]; errors: number }>();
  // Rounds interleave the servers so a noisy minute hurts all of them alike.
  for (let round = 0; round < rounds; round += 1) {
    for (const target of targets) {
      const result = await measure(target, seconds);
      const entry = samples.get(target.name) ?? { rps: [], p99: [], cpu: [], errors: 0 };
      entry.rps.push(result.rps);
      entry.p99.push(result.p99);
      entry.cpu.push(result.cpuMicrosPerRequest);
      entry.errors += result.errors;
      samples.set(target.name, entry);
    }
  }
  const summary = [...samples].map(([name, entry]) => ({
    name,
    rps: Math.round(median(entry.rps)),
    p99: Math.round(median(entry.p99) * 100) / 100,
    cpuMicros: Math.round(median(entry.cpu) * 10) / 10,
    errors: entry.errors,
  }));
  const [bare, hardened, express, reference, nodeBare, nodeWithHeaders] = [BARE, HARDENED, EXPRESS, REFERENCE, NODE, NODE_WITH_HEADERS].map(
    (name) => summary.find((item) => item.name === name),
  );
  const vsBare = (hardened?.rps ?? Number.NaN) / (bare?.rps ?? Number.NaN);
  const vsExpress = (hardened?.rps ?? Number.NaN) / (express?.rps ?? Number.NaN);
  const cpuVsBare = (bare?.cpuMicros ?? Number.NaN) / (hardened?.cpuMicros ?? Number.NaN);
  const vsReference = (hardened?.rps ?? Number.NaN) / (reference?.rps ?? Number.NaN);
  const referenceVsBare = (reference?.rps ?? Number.NaN) / (bare?.rps ?? Number.NaN);
  const nodeHeadersVsNode = (nodeWithHeaders?.rps ?? Number.NaN) / (nodeBare?.rps ?? Number.NaN);
  // Each round measures the servers back to back, so a round's ratio shares that minute's noise.
  const perRound = (name: string) =>
    (samples.get(HARDENED)?.rps ?? []).map((rps, round) => rps / (samples.get(name)?.rps[round] ?? Number.NaN));
  const roundRatios = perRound(BARE);
  const referenceRoundRatios = perRound(REFERENCE);
  const percentages = (ratios: number[]) => ratios.map((ratio) => `${(ratio * 100).toFixed(0)} %`).join(', ');
  // The targets (issue 13): the security header set alone costs Node ~30 % of its
  // throughput, so Rampart is held to the server that sends the same headers, not to bare Fastify.
  const passReference = vsReference >= 0.85;
  const passExpress = vsExpress >= 2.3;
  return [
    {
      name: `HTTP edge: GET /health/live, 32 connections, median of ${rounds} x ${seconds} s`,
      table: {
        columns: ['server', 'req/s (median)', 'p99 ms (median)', 'server CPU us/request (median)', 'errors'],
        rows: summary.map((item) => [item.name, item.rps, item.p99, item.cpuMicros, item.errors]),
      },
      notes: [
        `hardened / bare Fastify + the same headers (reference) = ${(vsReference * 100).toFixed(0)} % (target >= 85 %): ${passReference ? 'PASS' : 'FAIL'}`,
        `hardened / Express stack = ${vsExpress.toFixed(2)}x (target >= 2.3x): ${passExpress ? 'PASS' : 'FAIL'}`,
        `edge targets: ${passReference && passExpress ? 'PASS' : 'FAIL'}`,
        `hardened / reference within each round: ${percentages(referenceRoundRatios)} (median ${(median(referenceRoundRatios) * 100).toFixed(0)} %)`,
        `for information: hardened / bare Fastify = ${(vsBare * 100).toFixed(0)} % (per round ${percentages(roundRatios)}); the reference runs at ${(referenceVsBare * 100).toFixed(0)} % of bare Fastify`,
        `p99 latency: hardened ${hardened?.p99} ms = ${((hardened?.p99 ?? Number.NaN) / (bare?.p99 ?? Number.NaN)).toFixed(1)}x bare Fastify (${bare?.p99} ms), ${((hardened?.p99 ?? Number.NaN) / (express?.p99 ?? Number.NaN)).toFixed(1)}x the Express stack (${express?.p99} ms)`,
        'Rampart runs with LOG_LEVEL=warn (no per-request log line) like the other two, which log nothing; /health/live sits outside the /api/v1 rate limit, as probes should',
        'autocannon shares the 2 cores with the server under test',
        `by server CPU per request (less sensitive to a noisy machine than req/s), hardened costs ${(1 / cpuVsBare).toFixed(2)}x bare Fastify, i.e. ${(cpuVsBare * 100).toFixed(0)} % of its throughput per core`,
        `reference: bare Fastify sending Rampart's response headers costs ${reference?.cpuMicros} us CPU/request, hardened ${hardened?.cpuMicros}`,
        `floor, not a target: Node's http server with no framework loses ${((1 - nodeHeadersVsNode) * 100).toFixed(0)} % of its throughput to the same headers (${nodeBare?.cpuMicros} -> ${nodeWithHeaders?.cpuMicros} us CPU/request): the header set's cost is Node's, before any framework`,
      ],
      data: {
        summary,
        ratio_vs_bare: vsBare,
        ratio_vs_express: vsExpress,
        cpu_ratio_vs_bare: cpuVsBare,
        ratio_vs_same_headers_reference: vsReference,
        same_headers_reference_vs_bare: referenceVsBare,
        node_http_with_headers_vs_node_http: nodeHeadersVsNode,
        hardened_vs_bare_per_round: roundRatios,
        hardened_vs_reference_per_round: referenceRoundRatios,
        pass: passReference && passExpress,
        raw: Object.fromEntries(samples),
      },
    },
  ];
}
