// The image run the way an operator runs it: read-only root, /tmp a tmpfs, the host's network.
// Scale shape: `serve` and a `worker` container against the host's Postgres (a fresh database)
// and Redis, sharing the uploads volume; a sign-in, an upload the worker parses, and a
// `podman stop` during an in-flight request that still completes, then exit 0.
// Embedded shape: `serve` on a DATA_DIR volume keeps its data across a restart, and a second
// container on the same volume is refused by the lock.
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GOOD_PASSWORD, uniqueEmail } from '../helpers/accounts.ts';
import { freePort } from '../helpers/processes.ts';
import { createTestDatabase, scaleUrls, type TestDatabase } from '../helpers/shapes.ts';
import { eventually } from '../helpers/wait.ts';
import { ensureImage, podman, podmanOk, podmanReady, removeContainers } from './podman.ts';

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
    expect(await podmanOk(['logs', names.worker])).toContain('worker started');
  });

  it('podman stop during an in-flight request: the request completes and the container exits 0', async () => {
    const token = await signIn(base, uniqueEmail('stop'), true);
    const project = await json(`${base}/api/v1/projects`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}` },
      body: JSON.stringify({ name: 'stopping' }),
    });
    const body = Buffer.from(JSON.stringify({ path: 'late.md', content: '# Sent across a SIGTERM' }));
    const url = new URL(`${base}/api/v1/projects/${(project.body.project as { id: string }).id}/documents`);
    const answered = new Promise<number>((resolve, reject) => {
      const req = request(
        url,
        {
          method: 'POST',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'content-length': body.length },
        },
        (response) => {
          response.resume();
          response.on('end', () => resolve(response.statusCode ?? 0));
        },
      );
      req.on('error', reject);
      // Half the body now; the rest only once the container has begun to shut down.
      req.write(body.subarray(0, 10));
      stopping.then(() => req.end(body.subarray(10)), reject);
    });
    const stopping = (async () => {
      await new Promise((resolve) => setTimeout(resolve, 500));
      const stop = podman(['stop', '--time', '60', names.serve], { timeoutMs: 120_000 });
      await eventually(async () => (await podmanOk(['logs', names.serve])).includes('shutting down'));
      return stop;
    })();
    expect([201, 202]).toContain(await answered);
    expect((await await stopping).code).toBe(0);
    expect(await exitCode(names.serve)).toBe(0);
    expect(await podmanOk(['logs', names.serve])).toContain('shutdown complete');
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
    expect(await podmanOk(['logs', names.second])).toContain('is locked by another Rampart process');
    expect((await fetch(`${base}/health/ready`)).status).toBe(200);

    await podmanOk(['stop', '--time', '60', names.first], { timeoutMs: 120_000 });
    expect(await exitCode(names.first)).toBe(0);
    await serve(names.again, port);
    await ready(base);
    expect(await signIn(base, email, false)).toBeTruthy();
  });
});
