// The image as built by `npm run image`: within the seed's 180 MB, a numeric non-root user,
// nothing in it that runs besides Node (no shell, package manager or compiler), its labels
// and HEALTHCHECK, and the dependencies it trimmed still load. Then run as an operator runs
// it (read-only root, /tmp a tmpfs, the host's network). Scale shape: `serve` and a `worker`
// container against the host's Postgres (a fresh database) and Redis, sharing the uploads
// volume: a sign-in, an upload the worker parses, and a `podman stop` during an in-flight
// request that still completes, then exit 0. Embedded shape: `serve` on a DATA_DIR volume
// keeps its data across a restart, and a second container on the same volume is refused by
// the lock. One file, so the build (minutes) holds one test worker, not two.
import { execFileSync, spawn } from 'node:child_process';
import { request } from 'node:http';
import { createGzip } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GOOD_PASSWORD, uniqueEmail } from '../helpers/accounts.ts';
import { freePort } from '../helpers/processes.ts';
import { createTestDatabase, scaleUrls, type TestDatabase } from '../helpers/shapes.ts';
import { eventually } from '../helpers/wait.ts';
import { ensureImage, podman, podmanEnv, podmanOk, podmanReady, removeContainers } from './podman.ts';

const MB = 1_000_000;

describe.runIf(podmanReady)('the container image', () => {
  let ref: string;
  let files: string[];

  beforeAll(async () => {
    ({ ref } = await ensureImage());
    const container = await podmanOk(['create', ref]);
    try {
      const tar = execFileSync('sh', ['-c', `podman export ${container} | tar -t`], {
        env: podmanEnv,
        maxBuffer: 1 << 28,
        encoding: 'utf8',
      });
      files = tar.split('\n').map((path) => path.replace(/^\.?\//, ''));
    } finally {
      await podman(['rm', container]);
    }
  }, 1_800_000);

  it('is at most 180 MB uncompressed (and says what podman save gzips to)', async () => {
    const size = Number(await podmanOk(['image', 'inspect', '--format', '{{.Size}}', ref]));
    const gzipped = await new Promise<number>((resolve, reject) => {
      const save = spawn('podman', ['save', ref], { env: podmanEnv, stdio: ['ignore', 'pipe', 'inherit'] });
      let bytes = 0;
      const gzip = createGzip();
      gzip.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
      });
      gzip.on('end', () => resolve(bytes));
      save.on('error', reject);
      save.stdout.pipe(gzip);
    });
    console.log(
      `[rampart tests] image ${ref}: ${(size / MB).toFixed(1)} MB uncompressed, podman save | gzip ${(gzipped / MB).toFixed(1)} MB`,
    );
    expect(size).toBeGreaterThan(100 * MB); // Node alone is 107 MB: a smaller number means a broken measurement
    // On failure, say which layers hold the bytes (Node, node_modules, the embeddings table...).
    const layers = await podmanOk(['history', '--format', '{{.Size}}\t{{.CreatedBy}}', ref]);
    expect(size, `layers:\n${layers}`).toBeLessThanOrEqual(180 * MB);
  });

  it('runs as the numeric user 10001:10001, with labels, a HEALTHCHECK and the CLI as entrypoint', async () => {
    const [image] = JSON.parse(await podmanOk(['image', 'inspect', ref])) as {
      Config: { User: string; Entrypoint: string[]; Cmd: string[]; Labels: Record<string, string> };
      Healthcheck?: { Test: string[] };
    }[];
    expect(image?.Config.User).toBe('10001:10001');
    expect(image?.Config.Entrypoint).toEqual(['/usr/local/bin/node', '/app/bin/rampart.js']);
    expect(image?.Config.Cmd).toEqual(['serve']);
    const labels = image?.Config.Labels ?? {};
    expect(labels['org.opencontainers.image.version']).toMatch(/^\d+\.\d+\.\d+/);
    expect(labels['org.opencontainers.image.revision']).toMatch(/^[0-9a-f]{40}/);
    expect(labels['org.opencontainers.image.source']).toBeTruthy();
    expect(image?.Healthcheck?.Test).toEqual(['CMD', '/usr/local/bin/node', '/app/bin/rampart.js', 'health']);
  });

  it('has no shell, package manager or compiler: Node is the only program', () => {
    for (const absent of ['bin/sh', 'usr/bin/sh', 'bin/bash', 'usr/bin/bash', 'usr/bin/apt', 'usr/bin/dpkg', 'usr/bin/gcc', 'usr/bin/cc']) {
      expect(files).not.toContain(absent);
    }
    expect(files.filter((path) => /(^|\/)(npm|npx|yarn|corepack)(-cli\.js)?$/.test(path))).toEqual([]);
    const programs = files.filter((path) => /^(usr\/)?(s?bin|local\/bin)\/./.test(path) || /^usr\/local\/bin\/./.test(path));
    expect(programs).toEqual(['usr/local/bin/node']);
    expect(files).toContain('app/src/cli.ts');
    expect(files).toContain('app/migrations/');
  });

  it('refuses a shell even when asked for one', async () => {
    const result = await podman(['run', '--rm', '--entrypoint', '/bin/sh', ref, '-c', 'true']);
    expect(result.code).not.toBe(0);
  });

  it('loads the dependencies the build trimmed (Sentry without its bundler plugins, Argon2, PGlite with its extensions)', async () => {
    const script = [
      "await import('@sentry/node');",
      "const { hash } = await import('@node-rs/argon2'); await hash('x');",
      "const { PGlite } = await import('@electric-sql/pglite');",
      "const { pg_trgm } = await import('@electric-sql/pglite/contrib/pg_trgm');",
      "const { vector } = await import('@electric-sql/pglite-pgvector');",
      'const db = await PGlite.create({ extensions: { vector, pg_trgm } });',
      "await db.exec('create extension vector; create extension pg_trgm');",
      "console.log('loaded');",
    ].join(' ');
    expect(await nodeInImage(ref, script)).toContain('loaded');
  });

  it('loads what scripts/image-prune.ts cut down: drizzle-orm, highlight.js languages, luxon, dayjs, yaml, TypeBox', async () => {
    // What the roles import at start-up is covered by the role tests below; these are the
    // trimmed packages' other entry points, and every language the renderer registers.
    const script = [
      "await import('drizzle-orm'); await import('drizzle-orm/pg-core');",
      "await import('drizzle-orm/node-postgres'); await import('drizzle-orm/node-postgres/migrator');",
      "const { drizzle } = await import('drizzle-orm/pglite'); await import('drizzle-orm/pglite/migrator');",
      "const { PGlite } = await import('@electric-sql/pglite');",
      "const db = drizzle(new PGlite()); const { rows } = await db.execute('select 1 as one'); if (rows[0].one !== 1) throw new Error('drizzle');",
      "const { render } = await import('/app/src/modules/render/renderer.ts');",
      "for (const language of ['bash','c','cpp','css','go','java','javascript','json','markdown','python','rust','sql','typescript','xml','yaml','shell','html']) {",
      "  if (!render({ kind: 'code', text: 'x = 1', language }).includes('language-' + language)) throw new Error('not highlighted: ' + language); }",
      "const { createRequire } = await import('node:module'); const require = createRequire('/app/node_modules/pg-boss/');",
      "require('cron-parser').CronExpressionParser.parse('*/5 * * * *').next();",
      "require('launder')().date(new Date());",
      "(await import('yaml')).parse('a: 1');",
      "(await import('@sinclair/typebox')).Type.String();",
      "console.log('loaded');",
    ].join(' ');
    expect(await nodeInImage(ref, script)).toContain('loaded');
  });
});

/** Runs an ES module script with the image's Node, read-only as the roles run; its output. */
function nodeInImage(ref: string, script: string): Promise<string> {
  return podmanOk([
    'run',
    '--rm',
    '--read-only',
    '--tmpfs',
    '/tmp',
    '--entrypoint',
    '/usr/local/bin/node',
    ref,
    '--input-type=module',
    '-e',
    script,
  ]);
}

const suffix = Math.random().toString(16).slice(2, 10);
const RUN = ['run', '--detach', '--read-only', '--tmpfs', '/tmp', '--network', 'host'];

async function json(url: string, init: RequestInit = {}): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(url, { ...init, headers: { 'content-type': 'application/json', ...init.headers } });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

async function signIn(base: string, email: string, register: boolean): Promise<string> {
  if (register) {
    const created = await json(`${base}/api/v1/auth/register`, {
      method: 'POST',
      body: JSON.stringify({ email, password: GOOD_PASSWORD, display_name: 'Container' }),
    });
    expect(created.status).toBe(201);
  }
  const login = await json(`${base}/api/v1/auth/login`, { method: 'POST', body: JSON.stringify({ email, password: GOOD_PASSWORD }) });
  expect(login.status).toBe(200);
  return login.body.token as string;
}

async function ready(base: string): Promise<void> {
  await eventually(async () => (await fetch(`${base}/health/ready`).catch(() => undefined))?.status === 200, 180_000);
}

/** A container's output: podman logs keeps stdout (the JSON log) and stderr (CLI messages) apart. */
async function logs(name: string): Promise<string> {
  const result = await podman(['logs', name]);
  return result.stdout + result.stderr;
}

async function exitCode(name: string): Promise<number> {
  return Number(await podmanOk(['wait', name], { timeoutMs: 120_000 }));
}

describe.runIf(podmanReady && scaleUrls)('the image in the scale shape', () => {
  let ref: string;
  let database: TestDatabase;
  let base: string;
  const names = { serve: `rampart-t-serve-${suffix}`, worker: `rampart-t-worker-${suffix}`, volume: `rampart-t-uploads-${suffix}` };

  beforeAll(async () => {
    ({ ref } = await ensureImage());
    database = await createTestDatabase();
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    const env = ['-e', `DATABASE_URL=${database.url}`, '-e', `REDIS_URL=${scaleUrls?.redis}`, '-e', `REDIS_KEY_PREFIX=t${suffix}:`];
    const migrated = await podman(['run', '--rm', '--read-only', '--tmpfs', '/tmp', '--network', 'host', ...env, ref, 'migrate']);
    expect(migrated.code, migrated.stderr).toBe(0);
    await podmanOk(['volume', 'create', names.volume]);
    const volume = ['-v', `${names.volume}:/data`];
    await podmanOk([...RUN, '--name', names.worker, ...volume, ...env, '-e', `WORKER_HEALTH_PORT=${await freePort()}`, ref, 'worker']);
    await podmanOk([...RUN, '--name', names.serve, ...volume, ...env, '-e', `PORT=${port}`, '-e', 'IN_PROCESS_WORKER=false', ref, 'serve']);
  }, 1_800_000);

  afterAll(async () => {
    await removeContainers([names.serve, names.worker]);
    await podman(['volume', 'rm', '--force', names.volume]);
    await database?.drop();
  }, 120_000);

  it('is ready (database, Redis and the worker container heartbeat), signs in, and the worker parses an upload', async () => {
    await ready(base);
    const token = await signIn(base, uniqueEmail('scale'), true);
    const auth = { authorization: `Bearer ${token}` };
    const project = await json(`${base}/api/v1/projects`, { method: 'POST', headers: auth, body: JSON.stringify({ name: 'container' }) });
    expect(project.status).toBe(201);
    const projectId = (project.body.project as { id: string }).id;
    const upload = await json(`${base}/api/v1/projects/${projectId}/documents`, {
      method: 'POST',
      headers: auth,
      body: JSON.stringify({ path: 'docs/readme.md', content: '# Parsed in a container\n\nby the worker.' }),
    });
    expect([201, 202]).toContain(upload.status);
    const documentId = (upload.body.document as { id: string }).id;
    const parsed = await eventually(async () => {
      const document = await json(`${base}/api/v1/documents/${documentId}`, { headers: auth });
      const state = (document.body.document as { state: string }).state;
      return state === 'pending' ? undefined : state;
    });
    expect(parsed).toBe('ready');
    expect(await logs(names.worker)).toContain('worker started');
    // The image's HEALTHCHECK, run as Docker would run it, in each role's container.
    for (const name of [names.serve, names.worker]) expect((await podman(['healthcheck', 'run', name])).code, name).toBe(0);
  });

  it('podman stop during an in-flight request: the request completes and the container exits 0', async () => {
    const token = await signIn(base, uniqueEmail('stop'), true);
    const project = await json(`${base}/api/v1/projects`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}` },
      body: JSON.stringify({ name: 'stopping' }),
    });
    const body = Buffer.from(JSON.stringify({ path: 'late.md', content: '# Sent across a SIGTERM' }));
    const requestId = `inflight-${suffix}`;
    const url = new URL(`${base}/api/v1/projects/${(project.body.project as { id: string }).id}/documents`);
    const headers = {
      authorization: `Bearer ${token}`,
      'content-type': 'application/json',
      'content-length': body.length,
      'x-request-id': requestId,
    };
    let finish = () => {};
    const answered = new Promise<number>((resolve, reject) => {
      const req = request(url, { method: 'POST', headers }, (response) => {
        response.resume();
        response.on('end', () => resolve(response.statusCode ?? 0));
      });
      req.on('error', reject);
      // Half the body now; the rest only once the container has begun to shut down.
      req.write(body.subarray(0, 10));
      finish = () => req.end(body.subarray(10));
    });
    // The server logs the request when its headers arrive: only then is it in flight.
    await eventually(async () => (await logs(names.serve)).includes(requestId));
    const stop = podman(['stop', '--time', '60', names.serve], { timeoutMs: 120_000 });
    await eventually(async () => (await logs(names.serve)).includes('shutting down'));
    finish();
    expect([201, 202]).toContain(await answered);
    expect((await stop).code).toBe(0);
    expect(await exitCode(names.serve)).toBe(0);
    expect(await logs(names.serve)).toContain('shutdown complete');
  });
});

describe.runIf(podmanReady)('the image in the embedded shape', () => {
  let ref: string;
  const names = { first: `rampart-t-emb1-${suffix}`, second: `rampart-t-emb2-${suffix}`, again: `rampart-t-emb3-${suffix}` };
  const volume = `rampart-t-data-${suffix}`;

  beforeAll(async () => {
    ({ ref } = await ensureImage());
    await podmanOk(['volume', 'create', volume]);
  }, 1_800_000);

  afterAll(async () => {
    await removeContainers(Object.values(names));
    await podman(['volume', 'rm', '--force', volume]);
  }, 120_000);

  it('keeps its data across a restart, and a second container on the same volume is refused by the lock', async () => {
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const serve = (name: string, onPort: number) =>
      podmanOk([...RUN, '--name', name, '-v', `${volume}:/data`, '-e', `PORT=${onPort}`, ref, 'serve']);
    await serve(names.first, port);
    await ready(base);
    const email = uniqueEmail('embedded');
    await signIn(base, email, true);

    await serve(names.second, await freePort());
    expect(await exitCode(names.second)).not.toBe(0);
    expect(await logs(names.second)).toContain('is locked by another Rampart process');
    expect((await fetch(`${base}/health/ready`)).status).toBe(200);

    await podmanOk(['stop', '--time', '60', names.first], { timeoutMs: 120_000 });
    expect(await exitCode(names.first)).toBe(0);
    await serve(names.again, port);
    await ready(base);
    expect(await signIn(base, email, false)).toBeTruthy();
  });
});
