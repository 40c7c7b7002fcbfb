// The realtime gateway under load (scale shape, a real `rampart serve` process): hold 5,000
// authenticated sockets, subscribe 1,000 to one topic and all 5,000 to another, publish 100
// events to each through Redis, and time publish-to-receipt; beside a bare `ws` server fed
// by the same Redis channel in the same run. Targets (issue 14) are printed as PASS/FAIL.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Redis } from 'ioredis';
import pino from 'pino';
import WebSocket from 'ws';
import { RealtimeHub } from '../src/platform/realtime/hub.ts';
import { freePort } from '../test/helpers/processes.ts';
import { deleteKeysUnder } from '../test/helpers/redis-keys.ts';
import { createTestDatabase, scaleUrls } from '../test/helpers/shapes.ts';
import { type BenchSection, summarise } from './lib.ts';

const CONNECTIONS = 5_000;
const SMALL = 1_000;
const EVENTS = 100;
// Events are paced so one broadcast is not queued behind the previous (the same for both
// servers): the targets are about one broadcast's delivery, not a sustained stream.
const SPACING_MS = { small: 100, all: 300 } as const;
const OPENING_CONCURRENCY = 100;
const TARGETS = { smallP95Ms: 100, allP99Ratio: 1.5, rssPerConnectionKb: 20 };

type Group = keyof typeof SPACING_MS;

interface Server {
  child: ChildProcess;
  wsUrl: (group: Group) => string;
  headers: Record<string, string>;
}

function rssKb(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(match?.[1]);
}

async function waitUntilReady(child: ChildProcess, probe: () => Promise<boolean>): Promise<void> {
  for (let attempt = 0; attempt < 900 && child.exitCode === null; attempt += 1) {
    if (await probe().catch(() => false)) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  child.kill('SIGKILL');
  throw new Error('bench: a server never became ready');
}

async function post(url: string, body: object, token?: string): Promise<Record<string, unknown>> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (token) headers.authorization = `Bearer ${token}`;
  const response = await fetch(url, { method: 'POST', headers, body: JSON.stringify(body) });
  if (response.status >= 300) throw new Error(`bench: ${url} answered ${response.status}: ${await response.text()}`);
  return (await response.json()) as Record<string, unknown>;
}

async function startRampart(env: Record<string, string>): Promise<Server & { topics: Record<Group, string> }> {
  const port = await freePort();
  const child = spawn(process.execPath, [join(import.meta.dirname, '../src/cli.ts'), 'serve'], {
    stdio: ['ignore', 'ignore', 'inherit'],
    env: {
      ...process.env,
      ...env,
      PORT: String(port),
      NODE_ENV: 'production',
      LOG_LEVEL: 'warn',
      UPLOAD_ROOT: mkdtempSync(join(tmpdir(), 'rampart-bench-rt-')),
      // This bench's load comes from one address and one account: not an attack.
      API_RATE_LIMIT_PER_MINUTE: '1000000',
      WS_MAX_CONNECTIONS: '20000',
      WS_MAX_CONNECTIONS_PER_ACCOUNT: '20000',
    },
  });
  const base = `http://127.0.0.1:${port}`;
  await waitUntilReady(child, async () => (await fetch(`${base}/health/ready`)).ok);
  const email = `rt-${Date.now()}@bench.test`;
  await post(`${base}/api/v1/auth/register`, { email, password: 'bench-realtime-pass-1', display_name: 'B' });
  const { token } = (await post(`${base}/api/v1/auth/login`, { email, password: 'bench-realtime-pass-1' })) as { token: string };
  const project = async (name: string) => ((await post(`${base}/api/v1/projects`, { name }, token)).project as { id: string }).id;
  const topics = { small: `documents:${await project('small')}`, all: `documents:${await project('all')}` };
  return { child, wsUrl: () => `ws://127.0.0.1:${port}/api/v1/ws`, headers: { authorization: `Bearer ${token}` }, topics };
}

async function startBareWs(redisUrl: string, channel: string): Promise<Server> {
  const port = await freePort();
  const child = spawn(process.execPath, [join(import.meta.dirname, 'servers/bare-ws.ts'), String(port), redisUrl, channel], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise<void>((resolve) => child.stdout?.once('data', () => resolve()));
  return { child, wsUrl: (group) => `ws://127.0.0.1:${port}/?group=${group}`, headers: {} };
}

/** Opens `count` sockets, `OPENING_CONCURRENCY` at a time; the first `SMALL` join the small group. */
async function openAll(server: Server, count: number): Promise<{ sockets: WebSocket[]; seconds: number }> {
  const sockets: WebSocket[] = [];
  const started = performance.now();
  let next = 0;
  async function lane(): Promise<void> {
    while (next < count) {
      const index = next++;
      const socket = new WebSocket(server.wsUrl(index < SMALL ? 'small' : 'all'), { headers: server.headers, perMessageDeflate: false });
      await new Promise<void>((resolve, reject) => {
        socket.once('open', () => resolve());
        socket.once('error', reject);
      });
      sockets[index] = socket;
    }
  }
  await Promise.all(Array.from({ length: OPENING_CONCURRENCY }, lane));
  return { sockets, seconds: (performance.now() - started) / 1000 };
}

interface Delivery {
  latencies: Record<Group, number[]>;
  publishedAt: Record<Group, number[]>;
}

function track(sockets: WebSocket[], groupOf: (topic: string) => Group | undefined): Delivery {
  const delivery: Delivery = { latencies: { small: [], all: [] }, publishedAt: { small: [], all: [] } };
  for (const socket of sockets) {
    socket.on('message', (data) => {
      const received = performance.now();
      // The client shares the CPUs with the server: it reads the two fields it needs, no JSON.parse.
      const text = data.toString();
      const topicStart = text.indexOf('"topic":"') + 9;
      const group = groupOf(text.slice(topicStart, text.indexOf('"', topicStart)));
      const seqStart = text.indexOf('"seq":') + 6;
      if (!group || seqStart < 6) return;
      const seq = Number.parseInt(text.slice(seqStart, seqStart + 6), 10);
      delivery.latencies[group].push(received - (delivery.publishedAt[group][seq] as number));
    });
  }
  return delivery;
}

interface Run {
  server: string;
  connectPerSecond: number;
  rssPerConnectionKb: number;
  series: { group: Group; subscribers: number; delivered: number; expected: number; p50: number; p95: number; p99: number }[];
}

interface Contender {
  name: string;
  server: Server;
  subscribe(sockets: WebSocket[]): Promise<void>;
  groupOf(topic: string): Group | undefined;
  publish(group: Group, seq: number): void;
}

interface Prepared {
  contender: Contender;
  sockets: WebSocket[];
  delivery: Delivery;
  connectPerSecond: number;
  rssPerConnectionKb: number;
}

/** Opens and subscribes a contender's sockets, measuring accept rate and RSS per idle socket. */
async function prepare(contender: Contender): Promise<Prepared> {
  const pid = contender.server.child.pid as number;
  await new Promise((resolve) => setTimeout(resolve, 1_000));
  const rssBefore = rssKb(pid);
  const { sockets, seconds } = await openAll(contender.server, CONNECTIONS);
  await new Promise((resolve) => setTimeout(resolve, 2_000)); // idle, settled
  const rssPerConnectionKb = (rssKb(pid) - rssBefore) / CONNECTIONS;
  await contender.subscribe(sockets);
  return {
    contender,
    sockets,
    delivery: track(sockets, (topic) => contender.groupOf(topic)),
    connectPerSecond: Math.round(CONNECTIONS / seconds),
    rssPerConnectionKb,
  };
}

/**
 * Broadcasts to both contenders in turn, event by event (Rampart's, then half a spacing
 * later the baseline's), so both meet the same noise of a shared machine.
 */
async function broadcastInterleaved(prepared: Prepared[], group: Group, subscribers: number): Promise<void> {
  for (let seq = 0; seq < EVENTS; seq += 1) {
    for (const entry of prepared) {
      entry.delivery.publishedAt[group][seq] = performance.now();
      entry.contender.publish(group, seq);
      await new Promise((resolve) => setTimeout(resolve, SPACING_MS[group] / prepared.length));
    }
  }
  const deadline = Date.now() + 60_000;
  const done = () => prepared.every((entry) => entry.delivery.latencies[group].length >= EVENTS * subscribers);
  while (!done() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
}

async function measure(contenders: Contender[]): Promise<Run[]> {
  const prepared: Prepared[] = [];
  for (const contender of contenders) prepared.push(await prepare(contender));
  const subscribers: Record<Group, number> = { small: SMALL, all: CONNECTIONS };
  for (const group of ['small', 'all'] as const) await broadcastInterleaved(prepared, group, subscribers[group]);
  for (const entry of prepared) for (const socket of entry.sockets) socket.terminate();
  return prepared.map((entry) => ({
    server: entry.contender.name,
    connectPerSecond: entry.connectPerSecond,
    rssPerConnectionKb: entry.rssPerConnectionKb,
    series: (['small', 'all'] as const).map((group) => ({
      group,
      subscribers: subscribers[group],
      delivered: entry.delivery.latencies[group].length,
      expected: EVENTS * subscribers[group],
      ...summarise(entry.delivery.latencies[group]),
    })),
  }));
}

/** Sends the subscribe ops and waits for every confirmation. */
async function subscribeRampart(sockets: WebSocket[], topics: Record<Group, string>): Promise<void> {
  let confirmed = 0;
  const expected = CONNECTIONS + SMALL;
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`bench: ${confirmed}/${expected} subscriptions confirmed`)), 120_000);
    for (const [index, socket] of sockets.entries()) {
      const onFrame = (data: WebSocket.RawData) => {
        const frame = JSON.parse(data.toString()) as { op: string };
        if (frame.op !== 'subscribed') {
          if (process.env.BENCH_DEBUG) console.log(frame);
          return;
        }
        confirmed += 1;
        if (confirmed === expected) {
          clearTimeout(timer);
          resolve();
        }
      };
      socket.on('message', onFrame);
      socket.send(JSON.stringify({ op: 'subscribe', topic: topics.all }));
      if (index < SMALL) socket.send(JSON.stringify({ op: 'subscribe', topic: topics.small }));
    }
  });
  for (const socket of sockets) socket.removeAllListeners('message');
}

export async function benchRealtime(): Promise<BenchSection[]> {
  if (!scaleUrls) throw new Error('bench realtime needs the scale shape: set TEST_DATABASE_URL and TEST_REDIS_URL');
  const database = await createTestDatabase();
  const prefix = `benchrt${Date.now()}:`;
  const redis = new Redis(scaleUrls.redis);
  let runs: Run[] = [];
  const children: ChildProcess[] = [];
  try {
    const rampart = await startRampart({ DATABASE_URL: database.url, REDIS_URL: scaleUrls.redis, REDIS_KEY_PREFIX: prefix });
    children.push(rampart.child);
    const channel = `${prefix}bare`;
    const bare = await startBareWs(scaleUrls.redis, channel);
    children.push(bare.child);
    // The publisher is a hub of its own, as a worker process would be: events reach the server through Redis.
    const hub = new RealtimeHub(redis, prefix, pino({ level: 'silent' }));
    runs = await measure([
      {
        name: 'Rampart gateway',
        server: rampart,
        subscribe: (sockets) => subscribeRampart(sockets, rampart.topics),
        groupOf: (topic) => (topic === rampart.topics.small ? 'small' : topic === rampart.topics.all ? 'all' : undefined),
        publish: (group, seq) => hub.publish(rampart.topics[group], 'bench', { seq }, 'bench'),
      },
      {
        name: 'bare ws (baseline)',
        server: bare,
        subscribe: async () => {},
        groupOf: (topic) => (topic === 'small' || topic === 'all' ? topic : undefined),
        publish: (group, seq) => {
          const at = new Date().toISOString();
          const frame = JSON.stringify({ op: 'event', topic: group, event: 'bench', data: { seq }, request_id: 'bench', at });
          void redis.publish(channel, `${group}\n${frame}`);
        },
      },
    ]);
  } finally {
    for (const child of children) child.kill('SIGTERM');
    await deleteKeysUnder(redis, prefix);
    redis.disconnect();
    await database.drop();
  }
  return [section(runs)];
}

function section(runs: Run[]): BenchSection {
  const [rampart, bare] = runs as [Run, Run];
  const find = (run: Run, group: Group) => run.series.find((item) => item.group === group) as Run['series'][number];
  const allDelivered = rampart.series.every((item) => item.delivered === item.expected);
  const smallP95 = find(rampart, 'small').p95;
  const allRatio = find(rampart, 'all').p99 / find(bare, 'all').p99;
  const verdicts = [
    [
      `every event delivered to every subscriber (${rampart.series.map((item) => `${item.delivered}/${item.expected}`).join(', ')})`,
      allDelivered,
    ],
    [`broadcast to ${SMALL} subscribers p95 = ${smallP95} ms (target < ${TARGETS.smallP95Ms} ms)`, smallP95 < TARGETS.smallP95Ms],
    [
      `broadcast to ${CONNECTIONS} p99 = ${allRatio.toFixed(2)}x the bare ws baseline's (target <= ${TARGETS.allP99Ratio}x)`,
      allRatio <= TARGETS.allP99Ratio,
    ],
    [
      `RSS per idle connection = ${rampart.rssPerConnectionKb.toFixed(1)} KB (target < ${TARGETS.rssPerConnectionKb} KB)`,
      rampart.rssPerConnectionKb < TARGETS.rssPerConnectionKb,
    ],
  ] as const;
  return {
    name: `Realtime: ${CONNECTIONS} sockets, broadcasts to ${SMALL} and ${CONNECTIONS} subscribers (scale shape)`,
    table: {
      columns: ['server', 'connect/s', 'RSS per idle socket KB', 'subscribers', 'delivered', 'p50 ms', 'p95 ms', 'p99 ms'],
      rows: runs.flatMap((run) =>
        run.series.map((item) => [
          run.server,
          run.connectPerSecond,
          run.rssPerConnectionKb.toFixed(1),
          item.subscribers,
          `${item.delivered}/${item.expected}`,
          item.p50.toFixed(1),
          item.p95.toFixed(1),
          item.p99.toFixed(1),
        ]),
      ),
    },
    notes: [
      ...verdicts.map(([text, pass]) => `${text}: ${pass ? 'PASS' : 'FAIL'}`),
      `realtime targets: ${verdicts.every(([, pass]) => pass) ? 'PASS' : 'FAIL'}`,
      `latency is publish (a hub in the bench process, as a worker publishes) -> Redis pub/sub -> server -> socket -> receipt in the bench process; ${EVENTS} events per topic, ${SPACING_MS.small} ms apart to ${SMALL}, ${SPACING_MS.all} ms apart to ${CONNECTIONS}; both servers hold their sockets at once and their broadcasts alternate, so both meet the same machine noise`,
      'compression off in both (per-message deflate keeps state per socket); the load generator (5,000 clients) shares the 2 cores with the server, Redis and Postgres',
    ],
    data: { runs, targets: TARGETS, pass: verdicts.every(([, pass]) => pass) },
  };
}
