// Document rows cached by the API processes of the scale shape (platform/db/notified-cache.ts):
// a process serves a cached row only while it hears the other processes' writes, which a
// notification sent inside each writing transaction tells it of once that commits. The
// listener's loss and return: test/platform/db/notified-cache.test.ts.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, registerAndLogin } from '../../helpers/accounts.ts';
import { scaleUrls } from '../../helpers/shapes.ts';
import { startTestApp, type TestApp } from '../../helpers/test-app.ts';
import { eventually } from '../../helpers/wait.ts';

describe.runIf(scaleUrls)('document rows cached across two processes (scale shape)', () => {
  let a: TestApp;
  let b: TestApp;
  let auth: Record<string, string>;
  let projectId: string;
  let uploads: string;

  beforeAll(async () => {
    // One store of bytes, as processes behind one load balancer share one volume.
    uploads = mkdtempSync(join(tmpdir(), 'rampart-row-cache-'));
    a = await startTestApp('scale', { env: { UPLOAD_ROOT: uploads } });
    b = await startTestApp('scale', { databaseUrl: a.config.databaseUrl, worker: false, env: { UPLOAD_ROOT: uploads } });
    auth = bearer((await registerAndLogin(a.app)).token);
    projectId = (await a.app.inject({ method: 'POST', url: '/api/v1/projects', payload: { name: 'rows' }, headers: auth })).json().project
      .id;
  });

  afterAll(async () => {
    await b?.close();
    await a?.close();
  });

  const upload = async (path: string, content: string): Promise<string> => {
    const response = await a.app.inject({
      method: 'POST',
      url: `/api/v1/projects/${projectId}/documents`,
      payload: { path, content },
      headers: auth,
    });
    expect(response.statusCode, response.body).toBe(202);
    return response.json().document.id;
  };
  const read = (app: FastifyInstance, id: string) => app.inject({ url: `/api/v1/documents/${id}`, headers: auth });
  const ready = (id: string) => eventually(async () => (await read(a.app, id)).json().document?.state === 'ready');

  /**
   * Whether B answers from its cache: B reads the row, the row then changes behind every
   * process's back (a statement that notifies nobody), and B reads again.
   */
  async function caches(reader: TestApp, id: string): Promise<boolean> {
    const before = (await read(reader.app, id)).json().document.line_count as number;
    await a.platform.db.query('update documents set line_count = line_count + 1000 where id = $1', [id]);
    return (await read(reader.app, id)).json().document.line_count === before;
  }
  const bCaches = (id: string) => caches(b, id);
  const bListening = (id: string) => eventually(async () => (await bCaches(id)) || undefined, 20_000);

  it('serves what the other process wrote once the write commits: a new version, its parse, its deletion', async () => {
    const id = await upload('src/rows.ts', 'export const version = 1;\n');
    await ready(id);
    await bListening(id);
    expect((await read(b.app, id)).json().content).toBe('export const version = 1;\n');

    // A new version through A: B's cached row named the old bytes. The notification reaches
    // B within a millisecond or so of the commit; `eventually` allows a busy machine more.
    await upload('src/rows.ts', 'export const version = 2;\n');
    const fresh = await eventually(async () => {
      const body = (await read(b.app, id)).json();
      return body.content === 'export const version = 2;\n' ? body : undefined;
    }, 10_000);
    expect(fresh.document.state).toBe('pending');
    // The parse job (A's worker) turns it ready: B hears of that write too.
    await eventually(async () => (await read(b.app, id)).json().document.state === 'ready', 30_000);
    expect((await a.app.inject({ method: 'DELETE', url: `/api/v1/documents/${id}`, headers: auth })).statusCode).toBe(204);
    await eventually(async () => (await read(b.app, id)).statusCode === 404, 10_000);
  });

  it('with DOCUMENT_ROW_CACHE_MS=0 a process caches nothing, and its writes still reach the others', async () => {
    const id = await upload('src/off.ts', 'export const off = 1;\n');
    await ready(id);
    await bListening(id);
    const off = await startTestApp('scale', {
      databaseUrl: a.config.databaseUrl,
      worker: false,
      env: { UPLOAD_ROOT: uploads, DOCUMENT_ROW_CACHE_MS: '0' },
    });
    try {
      for (let attempt = 0; attempt < 3; attempt += 1) expect(await caches(off, id)).toBe(false);
      // B holds the row; its deletion through the process that does not cache is announced all the
      // same (a deletion runs no job, so nothing else would tell B).
      expect((await read(b.app, id)).statusCode).toBe(200);
      expect((await off.app.inject({ method: 'DELETE', url: `/api/v1/documents/${id}`, headers: auth })).statusCode).toBe(204);
      await eventually(async () => (await read(b.app, id)).statusCode === 404, 10_000);
    } finally {
      await off.close();
    }
  });
});
