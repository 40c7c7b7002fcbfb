// Bytes are shared by content across accounts (finding 2 of the security scan): no
// operation of one account may remove bytes another account's document still uses.
import { existsSync, readdirSync, rmSync, utimesSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import tar from 'tar-stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, registerAndLogin } from '../../helpers/accounts.ts';
import { shapes } from '../../helpers/shapes.ts';
import { startTestApp, type TestApp } from '../../helpers/test-app.ts';
import { eventually } from '../../helpers/wait.ts';

const LICENSE = 'Permission is hereby granted, free of charge, to any person obtaining a copy of this software...\n';

async function makeTarGz(name: string, content: string): Promise<Buffer> {
  const pack = tar.pack();
  pack.entry({ name }, content);
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const chunk of pack) chunks.push(chunk as Buffer);
  return gzipSync(Buffer.concat(chunks));
}

describe.each(shapes)('blobs shared across accounts (%s shape)', (shape) => {
  let t: TestApp;
  let alice: { auth: Record<string, string>; project: string };
  let bob: { auth: Record<string, string>; project: string };
  beforeAll(async () => {
    // Jobs wait until a test starts the worker, so an import can be left pending on purpose.
    t = await startTestApp(shape, { worker: false });
    const account = async (name: string) => {
      const auth = bearer((await registerAndLogin(t.app)).token);
      const created = await t.app.inject({ method: 'POST', url: '/api/v1/projects', payload: { name }, headers: auth });
      return { auth, project: created.json().project.id as string };
    };
    alice = await account('alice');
    bob = await account('bob');
  });
  afterAll(() => t.close());

  const upload = (who: typeof alice, path: string, content: string) =>
    t.app.inject({ method: 'POST', url: `/api/v1/projects/${who.project}/documents`, payload: { path, content }, headers: who.auth });
  const read = (who: typeof alice, id: string) => t.app.inject({ url: `/api/v1/documents/${id}`, headers: who.auth });
  const startImport = (who: typeof alice, bytes: Buffer, contentType: string) =>
    t.app.inject({
      method: 'POST',
      url: `/api/v1/projects/${who.project}/import`,
      payload: bytes,
      headers: { ...who.auth, 'content-type': contentType },
    });
  const importResult = (who: typeof alice, jobId: string) =>
    eventually(async () => {
      const status = (await t.app.inject({ url: `/api/v1/projects/${who.project}/imports/${jobId}`, headers: who.auth })).json().import;
      return status.state === 'completed' || status.state === 'failed' ? status : undefined;
    });
  let working = false;
  const startWorker = async () => {
    if (!working) await t.platform.jobs.work();
    working = true;
  };

  it("an import of another account's document bytes, rejected or not, leaves that document readable", async () => {
    const { document } = (await upload(alice, 'LICENSE', LICENSE)).json();
    const rejected = await startImport(bob, Buffer.from(LICENSE), 'application/zip');
    expect(rejected.statusCode).toBe(202);
    await startWorker();
    expect((await importResult(bob, rejected.json().job.id)).result.status).toBe('rejected');
    const mine = await read(alice, document.id);
    expect(mine.statusCode).toBe(200);
    expect(mine.json().content).toBe(LICENSE);
  });

  it("deleting a document leaves a pending import of the same bytes intact, whoever's it is", async () => {
    const tarball = await makeTarGz('imported/b.ts', 'export const b = 2;\n');
    // Alice's document holds exactly the archive's bytes: a multipart upload keeps them as they are.
    const boundary = 'shared-bytes-boundary';
    const form = Buffer.concat([
      Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="same-as-archive.tgz"\r\n\r\n`),
      tarball,
      Buffer.from(`\r\n--${boundary}--\r\n`),
    ]);
    const uploaded = await t.app.inject({
      method: 'POST',
      url: `/api/v1/projects/${alice.project}/documents`,
      payload: form,
      headers: { ...alice.auth, 'content-type': `multipart/form-data; boundary=${boundary}` },
    });
    expect(uploaded.statusCode).toBe(202);
    const [document] = uploaded.json().documents;
    const pending = await startImport(bob, tarball, 'application/gzip');
    expect(pending.statusCode).toBe(202);
    expect((await t.app.inject({ method: 'DELETE', url: `/api/v1/documents/${document.id}`, headers: alice.auth })).statusCode).toBe(204);
    await startWorker();
    expect((await importResult(bob, pending.json().job.id)).result).toMatchObject({ status: 'imported', files: 1 });
  });

  it('a delete racing an upload of the same bytes by another account never loses the upload', async () => {
    await startWorker();
    for (let round = 0; round < 8; round += 1) {
      const content = `export const shared_${round} = ${round};\n`;
      const { document: first } = (await upload(alice, `race/${round}.ts`, content)).json();
      const [deleted, uploaded] = await Promise.all([
        t.app.inject({ method: 'DELETE', url: `/api/v1/documents/${first.id}`, headers: alice.auth }),
        upload(bob, `race/${round}.ts`, content),
      ]);
      expect(deleted.statusCode).toBe(204);
      const copy = await read(bob, uploaded.json().document.id);
      expect(copy.statusCode, `round ${round}`).toBe(200);
      expect(copy.json().content).toBe(content);
    }
  });

  it('the orphan sweep removes only bytes no document references', async () => {
    const kept = (await upload(alice, 'sweep/kept.ts', 'export const kept = 1;\n')).json().document;
    const gone = (await upload(bob, 'sweep/gone.ts', 'export const gone = 1;\n')).json().document;
    const blobOf = async (who: typeof alice, id: string) => {
      const sha = (await read(who, id)).json().document.sha256 as string;
      return join(t.config.uploads.root, 'blobs', sha.slice(0, 2), sha);
    };
    const keptBlob = await blobOf(alice, kept.id);
    const goneBlob = await blobOf(bob, gone.id);
    await t.platform.db.query('delete from documents where id = $1', [gone.id]); // as a crash between row and bytes would leave it
    const old = new Date(Date.now() - 2 * 3_600_000);
    utimesSync(keptBlob, old, old);
    utimesSync(goneBlob, old, old);
    await t.platform.db.transaction((tx) => t.platform.jobs.enqueue(tx, 'documents.sweep-orphan-blobs', {}));
    await eventually(async () => !existsSync(goneBlob));
    expect(existsSync(keptBlob)).toBe(true);
    expect((await read(alice, kept.id)).statusCode).toBe(200);
  });

  it('a document whose bytes are missing answers 410 in the envelope, logs it, and readiness reports it until mended', async () => {
    const content = 'export const fragile = 1;\n';
    const { document } = (await upload(alice, 'fragile.ts', content)).json();
    // Not read before the bytes go: a read would keep the text in this process's content cache.
    const [row] = await t.platform.db.query<{ sha256: string }>('select sha256 from documents where id = $1', [document.id]);
    const sha = row?.sha256 as string;
    rmSync(join(t.config.uploads.root, 'blobs', sha.slice(0, 2), sha));
    const response = await read(alice, document.id);
    expect(response.statusCode).toBe(410);
    expect(response.json()).toMatchObject({ error_code: 'GONE', message: expect.stringMatching(/content of this document is missing/) });
    expect(t.logs.some((line) => line.event === 'documents.blob_missing' && line.document_id === document.id)).toBe(true);
    const health = await t.app.inject({ url: '/health/ready' });
    expect(health.json().checks.document_storage.status).toBe('error');
    // Uploading the same bytes again (anyone's upload) restores them.
    await upload(bob, 'restore.ts', content);
    expect((await read(alice, document.id)).statusCode).toBe(200);
    expect((await t.app.inject({ url: '/health/ready' })).json().checks.document_storage.status).toBe('ok');
    expect(readdirSync(join(t.config.uploads.root, 'blobs', sha.slice(0, 2)))).toContain(sha);
  });

  it('serves a text it has read from memory: the same answer without touching the file again', async () => {
    const content = 'export const remembered = 2;\n';
    const { document } = (await upload(alice, 'remembered.ts', content)).json();
    const first = await read(alice, document.id);
    expect(first.json().content).toBe(content);
    const sha = first.json().document.sha256 as string;
    rmSync(join(t.config.uploads.root, 'blobs', sha.slice(0, 2), sha));
    const again = await read(alice, document.id);
    expect(again.statusCode).toBe(200);
    expect(again.json().content).toBe(content);
    // Still the owner's only: the cache is behind the same lookup.
    expect((await read(bob, document.id)).statusCode).toBe(404);
    await upload(alice, 'remembered-again.ts', content); // puts the bytes back for the other tests
  });
});
