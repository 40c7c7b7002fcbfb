// The documents API end to end: hostile paths, uploads and parsing, listing and search, reads with ETag, deletion.
import { readdirSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, registerAndLogin } from '../../helpers/accounts.ts';
import { shapes } from '../../helpers/shapes.ts';
import { startTestApp, type TestApp } from '../../helpers/test-app.ts';
import { eventually } from '../../helpers/wait.ts';

const TS_SOURCE = 'export function greet(name: string) {\n  return name;\n}\nexport class Greeter {}\nconst internal = 1;\n';

function countFiles(dir: string): number {
  try {
    return readdirSync(dir, { recursive: true, withFileTypes: true }).filter((entry) => entry.isFile()).length;
  } catch {
    return 0;
  }
}

describe.each(shapes)('documents API (%s shape)', (shape) => {
  let t: TestApp;
  let auth: Record<string, string>;
  let projectId: string;
  beforeAll(async () => {
    t = await startTestApp(shape, { env: { MAX_UPLOAD_FILE_SIZE: '64kb' } });
    auth = bearer((await registerAndLogin(t.app)).token);
    const project = await t.app.inject({ method: 'POST', url: '/api/v1/projects', payload: { name: 'demo' }, headers: auth });
    expect(project.statusCode).toBe(201);
    projectId = project.json().project.id;
  });
  afterAll(() => t.close());

  const upload = (path: string, content: string, headers = auth, project = projectId) =>
    t.app.inject({ method: 'POST', url: `/api/v1/projects/${project}/documents`, payload: { path, content }, headers });
  const getDocument = (id: string) => t.app.inject({ url: `/api/v1/documents/${id}`, headers: auth });
  const ready = (id: string) =>
    eventually(async () => {
      const body = (await getDocument(id)).json();
      return body.document.state !== 'pending' ? body : undefined;
    });

  it('refuses hostile paths with PATH_NOT_ALLOWED and writes nothing to disk or the database', async () => {
    const uploads = t.config.uploads.root;
    const before = countFiles(uploads);
    for (const path of [
      '../x',
      '..%2Fx',
      '%252e%252e/x',
      '/etc/passwd',
      'C:\\x',
      '\\\\server\\share',
      'a/\u0000b',
      'a/\ud800b',
      '\u2025/x',
      '..\u2215x',
    ]) {
      const response = await upload(path, 'owned');
      expect(response.statusCode, path).toBe(400);
      expect(response.json().error_code).toBe('PATH_NOT_ALLOWED');
    }
    expect(countFiles(uploads)).toBe(before);
    const rows = await t.platform.db.query("select 1 from documents where path like '%x' or path like '%passwd%' or path like '%share%'");
    expect(rows).toEqual([]);
  });

  it('refuses look-alike paths in multipart uploads too, writing nothing', async () => {
    const before = countFiles(t.config.uploads.root);
    for (const path of ['\u2025/x.ts', '..\u2215x.ts']) {
      const boundary = 'look-alike-boundary';
      const form = [
        `--${boundary}\r\nContent-Disposition: form-data; name="path"\r\n\r\n${path}\r\n`,
        `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="x.ts"\r\n\r\nexport const x = 1;\r\n`,
        `--${boundary}--\r\n`,
      ].join('');
      const response = await t.app.inject({
        method: 'POST',
        url: `/api/v1/projects/${projectId}/documents`,
        payload: form,
        headers: { ...auth, 'content-type': `multipart/form-data; boundary=${boundary}` },
      });
      expect(response.statusCode, path).toBe(400);
      expect(response.json().error_code).toBe('PATH_NOT_ALLOWED');
    }
    expect(countFiles(t.config.uploads.root)).toBe(before);
  });

  it('stores a good file as pending and the job makes it ready with language, lines, checksum and symbols', async () => {
    const response = await upload('src/greet.ts', TS_SOURCE);
    expect(response.statusCode).toBe(202);
    const { document } = response.json();
    expect(document).toMatchObject({ path: 'src/greet.ts', state: 'pending', size_bytes: Buffer.byteLength(TS_SOURCE) });
    const parsed = await ready(document.id);
    expect(parsed.document).toMatchObject({ state: 'ready', language: 'typescript', line_count: 5 });
    expect(parsed.document.symbols).toEqual(['greet', 'Greeter', 'internal']);
    expect(parsed.document.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(parsed.content).toBe(TS_SOURCE);
  });

  it('treats identical content as a no-op, and new content as a new version', async () => {
    const first = (await upload('lib/util.py', 'def a():\n    pass\n')).json().document;
    await ready(first.id);
    const again = await upload('lib/util.py', 'def a():\n    pass\n');
    expect(again.statusCode).toBe(200);
    expect(again.json().document.state).toBe('ready');
    const changed = await upload('lib/util.py', 'def a():\n    pass\n\nclass B:\n    pass\n');
    expect(changed.statusCode).toBe(202);
    expect(changed.json().document.id).toBe(first.id);
    expect((await ready(first.id)).document.symbols).toEqual(['a', 'B']);
  });

  it('marks binary content failed with a reason', async () => {
    const { document } = (await upload('bin/blob.dat', 'abc\u0000def')).json();
    const parsed = await ready(document.id);
    expect(parsed.document).toMatchObject({ state: 'failed', failure_reason: expect.stringContaining('binary') });
  });

  it('accepts multipart uploads of several files, each with its path, and limits their size', async () => {
    const boundary = '----rampart';
    const part = (path: string, content: string) =>
      `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${path}"\r\nContent-Type: text/plain\r\n\r\n${content}\r\n`;
    const body = `${part('mp/one.go', 'package main\nfunc One() {}\n')}${part('mp/two.go', 'package main\ntype Two struct{}\n')}--${boundary}--\r\n`;
    const response = await t.app.inject({
      method: 'POST',
      url: `/api/v1/projects/${projectId}/documents`,
      payload: body,
      headers: { ...auth, 'content-type': `multipart/form-data; boundary=${boundary}` },
    });
    expect(response.statusCode).toBe(202);
    expect(response.json().documents.map((d: { path: string }) => d.path)).toEqual(['mp/one.go', 'mp/two.go']);
    const big = `${part('mp/big.txt', 'x'.repeat(70 * 1024))}--${boundary}--\r\n`;
    const tooBig = await t.app.inject({
      method: 'POST',
      url: `/api/v1/projects/${projectId}/documents`,
      payload: big,
      headers: { ...auth, 'content-type': `multipart/form-data; boundary=${boundary}` },
    });
    expect(tooBig.statusCode).toBe(413);
    expect(tooBig.json().error_code).toBe('PAYLOAD_TOO_LARGE');
    expect((await upload('big.txt', 'x'.repeat(70 * 1024))).statusCode).toBe(413);
  });

  it('answers 400 VALIDATION_FAILED for multipart bodies the parser cannot read: no boundary, truncated, cut mid-headers', async () => {
    const send = (contentType: string, payload: string) =>
      t.app.inject({
        method: 'POST',
        url: `/api/v1/projects/${projectId}/documents`,
        payload,
        headers: { ...auth, 'content-type': contentType },
      });
    const head = '--B\r\nContent-Disposition: form-data; name="file"; filename="cut.ts"\r\n\r\n';
    for (const [contentType, payload] of [
      ['multipart/form-data', `${head}x\r\n--B--\r\n`],
      ['multipart/form-data; boundary=B', `${head}export const cut = 1;`],
      ['multipart/form-data; boundary=B', '--B\r\nContent-Disposition: form-data; name="file"; filena'],
      // RFC 2046 allows 70 characters; busboy's search refuses more than 256.
      [`multipart/form-data; boundary=${'B'.repeat(300)}`, `${head}x\r\n--B--\r\n`],
    ] as const) {
      const response = await send(contentType, payload);
      expect(response.statusCode, payload).toBe(400);
      expect(response.json().error_code).toBe('VALIDATION_FAILED');
    }
    const rows = await t.platform.db.query("select 1 from documents where path = 'cut.ts'");
    expect(rows).toEqual([]);
  });

  it('answers 400 for list and search input Postgres would refuse: NUL in q, prefix or a cursor path, non-finite limits', async () => {
    const list = `/api/v1/projects/${projectId}/documents`;
    const cursorOf = (path: string) => Buffer.from(JSON.stringify([path])).toString('base64url');
    for (const [url, field] of [
      [`${list}?q=a%00b`, 'query.q'],
      [`${list}?prefix=src%00`, 'query.prefix'],
      [`${list}?cursor=${cursorOf('src/\u0000')}`, 'query.cursor'],
      [`${list}?cursor=${cursorOf('src/\ud800')}`, 'query.cursor'],
      [`${list}?limit=Infinity`, 'query.limit'],
      [`${list}?limit=1e309`, 'query.limit'],
      ['/api/v1/documents/search?q=a%00b', 'query.q'],
      ['/api/v1/documents/search?q=a&limit=Infinity', 'query.limit'],
      ['/api/v1/documents/search?q=a&limit=1e309', 'query.limit'],
    ]) {
      const response = await t.app.inject({ url, headers: auth });
      expect(response.statusCode, url).toBe(400);
      expect(response.json()).toMatchObject({ error_code: 'VALIDATION_FAILED', details: [{ path: field }] });
    }
  });

  it('refuses a project name holding NUL or an unpaired surrogate with 400', async () => {
    for (const name of ['demo\u0000', 'demo\udc00']) {
      const response = await t.app.inject({ method: 'POST', url: '/api/v1/projects', payload: { name }, headers: auth });
      expect(response.statusCode, JSON.stringify(name)).toBe(400);
      expect(response.json()).toMatchObject({ error_code: 'VALIDATION_FAILED', details: [{ path: 'body.name' }] });
    }
  });

  it('lists by prefix in path order with keyset pages, and finds by case-insensitive substring', async () => {
    for (const name of ['b.ts', 'a.ts', 'c.ts', 'nested/d.ts']) await upload(`pager/${name}`, `export const x = '${name}';\n`);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const query: string = `prefix=pager/&limit=2${cursor ? `&cursor=${cursor}` : ''}`;
      const page = (await t.app.inject({ url: `/api/v1/projects/${projectId}/documents?${query}`, headers: auth })).json();
      seen.push(...page.documents.map((d: { path: string }) => d.path));
      cursor = page.next_cursor;
    } while (cursor);
    expect(seen).toEqual(['pager/a.ts', 'pager/b.ts', 'pager/c.ts', 'pager/nested/d.ts']);
    const found = (await t.app.inject({ url: `/api/v1/projects/${projectId}/documents?q=NESTED`, headers: auth })).json();
    expect(found.documents.map((d: { path: string }) => d.path)).toEqual(['pager/nested/d.ts']);
    // LIKE wildcards in the query match literally.
    expect((await t.app.inject({ url: `/api/v1/projects/${projectId}/documents?q=%25`, headers: auth })).json().documents).toEqual([]);
    const global = (await t.app.inject({ url: '/api/v1/documents/search?q=greet', headers: auth })).json();
    expect(global.documents.map((d: { path: string }) => d.path)).toEqual(['src/greet.ts']);
  });

  it('finds every substring match in path order in a larger project', async () => {
    const big = (await t.app.inject({ method: 'POST', url: '/api/v1/projects', payload: { name: 'big' }, headers: auth })).json().project
      .id;
    // 2,500 rows, matches spread through them: substring results come complete and in path order.
    await t.platform.db.query(
      `insert into documents (project_id, path, state, sha256, size_bytes)
       select $1, 'f/' || lpad(n::text, 5, '0') || case when n in (3, 1500, 2200, 2499) then '_Needle' else '' end || '.ts', 'ready', repeat('a', 64), 1
       from generate_series(1, 2500) as n`,
      [big],
    );
    const found = (await t.app.inject({ url: `/api/v1/projects/${big}/documents?q=needle&limit=10`, headers: auth })).json();
    expect(found.documents.map((d: { path: string }) => d.path)).toEqual([
      'f/00003_Needle.ts',
      'f/01500_Needle.ts',
      'f/02200_Needle.ts',
      'f/02499_Needle.ts',
    ]);
    const firstTwo = (await t.app.inject({ url: `/api/v1/projects/${big}/documents?q=needle&limit=2`, headers: auth })).json();
    expect(firstTwo.documents.map((d: { path: string }) => d.path)).toEqual(['f/00003_Needle.ts', 'f/01500_Needle.ts']);
    const pastWalk = (await t.app.inject({ url: `/api/v1/projects/${big}/documents?q=needle&limit=3&prefix=f/02`, headers: auth })).json();
    expect(pastWalk.documents.map((d: { path: string }) => d.path)).toEqual(['f/02200_Needle.ts', 'f/02499_Needle.ts']);
  });

  it('matches separators, short queries and non-ASCII letters the way ILIKE does', async () => {
    const scratch = (await t.app.inject({ method: 'POST', url: '/api/v1/projects', payload: { name: 'scratch' }, headers: auth })).json()
      .project.id;
    const paths = ['src/user_cache.ts', 'src/user/cache.ts', 'src/userXcache.ts', 'docs/Ärger-Über.md', 'a%b.txt'];
    for (const path of paths) expect((await upload(path, 'x', auth, scratch)).statusCode).toBe(202);
    const search = async (q: string) =>
      (await t.app.inject({ url: `/api/v1/projects/${scratch}/documents?q=${encodeURIComponent(q)}`, headers: auth }))
        .json()
        .documents.map((d: { path: string }) => d.path);
    // '_' and '/' are literal characters, not wildcards or word breaks.
    expect(await search('USER_CA')).toEqual(['src/user_cache.ts']);
    expect(await search('r/c')).toEqual(['src/user/cache.ts']);
    expect(await search('RXCACHE')).toEqual(['src/userXcache.ts']);
    expect(await search('ärger-üb')).toEqual(['docs/Ärger-Über.md']);
    expect(await search('%b')).toEqual(['a%b.txt']);
    // Below three characters there is no trigram; the answer is still complete.
    expect(await search('R/')).toEqual(['src/user/cache.ts']);
    expect(await search('s')).toEqual(['docs/Ärger-Über.md', 'src/user/cache.ts', 'src/userXcache.ts', 'src/user_cache.ts']);
  });

  it('searches all my projects newest first, in path order inside each, up to the limit', async () => {
    const me = bearer((await registerAndLogin(t.app)).token);
    const created: string[] = [];
    for (const name of ['first', 'second', 'third', 'fourth', 'fifth', 'sixth']) {
      const id = (await t.app.inject({ method: 'POST', url: '/api/v1/projects', payload: { name }, headers: me })).json().project.id;
      created.push(id);
      for (const path of [`${name}/b_report.ts`, `${name}/a_report.ts`, `${name}/other.ts`]) {
        expect((await upload(path, 'x', me, id)).statusCode).toBe(202);
      }
      // Distinct creation times, so "newest first" has one answer.
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    const search = async (query: string) =>
      (await t.app.inject({ url: `/api/v1/documents/search?${query}`, headers: me })).json().documents.map((d: { path: string }) => d.path);
    const newestFirst = ['sixth', 'fifth', 'fourth', 'third', 'second', 'first'];
    expect(await search('q=REPORT&limit=200')).toEqual(newestFirst.flatMap((name) => [`${name}/a_report.ts`, `${name}/b_report.ts`]));
    // The limit cuts across project batches (1, then 4, then the rest).
    expect(await search('q=report&limit=7')).toEqual(
      newestFirst.flatMap((name) => [`${name}/a_report.ts`, `${name}/b_report.ts`]).slice(0, 7),
    );
    expect(await search('q=first/a_')).toEqual(['first/a_report.ts']);
    expect(await search('q=nothing-here')).toEqual([]);
  });

  it("keeps other users' projects and documents invisible (404)", async () => {
    const stranger = bearer((await registerAndLogin(t.app)).token);
    expect((await upload('x.ts', 'x', stranger)).statusCode).toBe(404);
    expect((await t.app.inject({ url: `/api/v1/projects/${projectId}/documents`, headers: stranger })).statusCode).toBe(404);
    const mine = (await t.app.inject({ url: '/api/v1/documents/search?q=greet', headers: auth })).json().documents[0];
    expect((await t.app.inject({ url: `/api/v1/documents/${mine.id}`, headers: stranger })).statusCode).toBe(404);
    expect((await t.app.inject({ url: '/api/v1/documents/search?q=greet', headers: stranger })).json().documents).toEqual([]);
  });

  it('serves text that JSON must escape exactly, read from the file and again from the content cache', async () => {
    const text = 'const q = "quoted", b = \'\\\';\r\n\tline\u2028sep\u2029para </script> é 𝄞 ✓\n';
    const { document } = (await upload('cache/escapes.ts', text)).json();
    await ready(document.id);
    const first = await getDocument(document.id);
    const again = await getDocument(document.id);
    for (const read of [first, again]) {
      expect(read.statusCode).toBe(200);
      expect(read.headers['content-type']).toBe('application/json; charset=utf-8');
      expect(read.json().content).toBe(text);
      expect(read.json().document).toMatchObject({ id: document.id, path: 'cache/escapes.ts', state: 'ready' });
    }
    expect(again.body).toBe(first.body);
  });

  it('answers a repeated read with 304 Not Modified while nothing changed, revalidated every time', async () => {
    const { document } = (await upload('cache/etag.ts', 'export const version = 1;\n')).json();
    const parsed = await ready(document.id);
    const first = await getDocument(document.id);
    expect(first.statusCode).toBe(200);
    const etag = first.headers.etag as string;
    expect(etag).toMatch(new RegExp(`^"${parsed.document.sha256}\\.[0-9a-z]+"$`));
    // The tag is the content hash and the row's version (updated_at in ms, base 36).
    expect(etag).toBe(`"${parsed.document.sha256}.${new Date(parsed.document.updated_at).getTime().toString(36)}"`);
    expect(first.headers['cache-control']).toBe('private, no-cache');
    const again = await t.app.inject({ url: `/api/v1/documents/${document.id}`, headers: { ...auth, 'if-none-match': etag } });
    expect(again.statusCode).toBe(304);
    expect(again.body).toBe('');
    // No length or type for a body that is not there: a client that trusts Content-Length
    // would wait for 4 bytes ("null") that never come, and take the next answer's for them.
    expect(again.headers['content-length']).toBeUndefined();
    expect(again.headers['content-type']).toBeUndefined();
    expect(again.headers.etag).toBe(etag);
    // New content at the same path is a new representation: 200 with a new tag.
    const second = (await upload('cache/etag.ts', 'export const version = 2;\n')).json().document;
    const changed = await t.app.inject({ url: `/api/v1/documents/${document.id}`, headers: { ...auth, 'if-none-match': etag } });
    expect(changed.statusCode).toBe(200);
    expect(changed.headers.etag).not.toBe(etag);
    expect(changed.json().content).toBe('export const version = 2;\n');
    // So is the same content once its parse finished (pending -> ready): the metadata changed.
    // The pending version's tag comes from the upload's answer: on a busy machine the parse can
    // finish before the read above, which then already shows the ready version.
    expect(second.state).toBe('pending');
    const pendingTag = `"${second.sha256}.${new Date(second.updated_at).getTime().toString(36)}"`;
    await ready(document.id);
    const readyRead = await getDocument(document.id);
    expect(readyRead.headers.etag).not.toBe(pendingTag);
    expect(
      (await t.app.inject({ url: `/api/v1/documents/${document.id}`, headers: { ...auth, 'if-none-match': pendingTag } })).statusCode,
    ).toBe(200);
    expect(
      (
        await t.app.inject({
          url: `/api/v1/documents/${document.id}`,
          headers: { ...auth, 'if-none-match': readyRead.headers.etag as string },
        })
      ).statusCode,
    ).toBe(304);
  });

  it('deletes the row and the stored bytes together', async () => {
    const { document } = (await upload('tmp/delete-me.ts', 'export const unique_delete_marker = 1;\n')).json();
    await ready(document.id);
    const sha = (await getDocument(document.id)).json().document.sha256;
    const blobs = () => readdirSync(t.config.uploads.root, { recursive: true }).map(String);
    expect(blobs().some((name) => name.endsWith(sha))).toBe(true);
    expect((await t.app.inject({ method: 'DELETE', url: `/api/v1/documents/${document.id}`, headers: auth })).statusCode).toBe(204);
    expect((await getDocument(document.id)).statusCode).toBe(404);
    expect(blobs().some((name) => name.endsWith(sha))).toBe(false);
  });
});
