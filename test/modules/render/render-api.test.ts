// The render API end to end, in both shapes: POST /render for signed-in users, the size
// limit, the caches, and GET /documents/:id/rendered (owner only, ETag and 304, pending 409).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, registerAndLogin } from '../../helpers/accounts.ts';
import { shapes } from '../../helpers/shapes.ts';
import { startTestApp, type TestApp } from '../../helpers/test-app.ts';
import { eventually } from '../../helpers/wait.ts';
import { unsafeParts } from './html-safety.ts';
import { XSS_CORPUS } from './xss-corpus.ts';

const MARKDOWN_DOC = '# Notes\n\n```python\nprint("hi")\n```\n\n<script>alert(1)</script> [site](https://example.com)\n';

describe.each(shapes)('render API (%s shape)', (shape) => {
  let t: TestApp;
  let auth: Record<string, string>;
  let projectId: string;
  beforeAll(async () => {
    t = await startTestApp(shape, { env: { MAX_RENDER_SIZE: '8kb', RENDER_THREADS: '2' } });
    auth = bearer((await registerAndLogin(t.app)).token);
    const project = await t.app.inject({ method: 'POST', url: '/api/v1/projects', payload: { name: 'render' }, headers: auth });
    projectId = project.json().project.id;
  });
  afterAll(() => t.close());

  const renderMarkdown = (markdown: unknown, headers = auth) =>
    t.app.inject({ method: 'POST', url: '/api/v1/render', payload: { markdown }, headers });
  const uploadReady = async (path: string, content: string) => {
    const response = await t.app.inject({
      method: 'POST',
      url: `/api/v1/projects/${projectId}/documents`,
      payload: { path, content },
      headers: auth,
    });
    const id = response.json().document.id as string;
    // These reads fill the content cache: the /rendered calls that follow take the text from it.
    await eventually(async () => (await t.app.inject({ url: `/api/v1/documents/${id}`, headers: auth })).json().document.state === 'ready');
    return id;
  };

  it('renders Markdown for a signed-in user and refuses anyone else', async () => {
    const response = await renderMarkdown(MARKDOWN_DOC);
    expect(response.statusCode).toBe(200);
    const { html } = response.json();
    expect(html).toContain('<h1>Notes</h1>');
    expect(html).toContain('<code class="hljs language-python">');
    expect(html).toContain('&lt;script&gt;');
    expect(html).toContain('rel="nofollow noopener noreferrer"');
    expect((await renderMarkdown(MARKDOWN_DOC, {})).statusCode).toBe(401);
  });

  it('serves the XSS corpus through the API (worker pool) without anything that runs script', async () => {
    const batch = XSS_CORPUS.slice(0, 40);
    const responses = await Promise.all(batch.map((input) => renderMarkdown(input)));
    for (const [index, response] of responses.entries()) {
      expect(response.statusCode, batch[index]).toBe(200);
      expect(unsafeParts(response.json().html), batch[index]).toEqual([]);
    }
  });

  it('answers 413 past MAX_RENDER_SIZE and 400 for a body that is not {markdown}', async () => {
    const tooBig = await renderMarkdown('x'.repeat(8 * 1024 + 1));
    expect(tooBig.statusCode).toBe(413);
    expect(tooBig.json().error_code).toBe('PAYLOAD_TOO_LARGE');
    expect((await renderMarkdown(42)).statusCode).toBe(400);
    const extra = await t.app.inject({ method: 'POST', url: '/api/v1/render', payload: { markdown: 'a', html: true }, headers: auth });
    expect(extra.statusCode).toBe(400);
    // A stored document past the limit: 413 from its stored size (uploadReady's reads cached its text).
    const stored = await uploadReady('big.md', `${'word '.repeat(1700)}\n`);
    const rendered = await t.app.inject({ url: `/api/v1/documents/${stored}/rendered`, headers: auth });
    expect(rendered.statusCode).toBe(413);
    expect(rendered.json().message).toBe('Rendering takes at most 8192 bytes (this is 8501)');
  });

  it('answers a repeated render with the same HTML (from the cache)', async () => {
    const text = `cached ${Math.random()}`;
    const first = (await renderMarkdown(text)).json().html;
    expect((await renderMarkdown(text)).json().html).toBe(first);
  });

  it('renders a Markdown document, and highlights a code document in the language the parse job found', async () => {
    const markdownId = await uploadReady('docs/readme.md', MARKDOWN_DOC);
    const markdown = await t.app.inject({ url: `/api/v1/documents/${markdownId}/rendered`, headers: auth });
    expect(markdown.statusCode).toBe(200);
    expect(markdown.json().document.language).toBe('markdown');
    expect(markdown.json().html).toContain('<h1>Notes</h1>');

    const codeId = await uploadReady('src/app.py', 'def main():\n    return "<b>hi</b>"\n');
    const code = await t.app.inject({ url: `/api/v1/documents/${codeId}/rendered`, headers: auth });
    expect(code.statusCode).toBe(200);
    expect(code.json().html).toMatch(/^<pre><code class="hljs language-python"><span class="hljs-keyword">def<\/span>/);
    expect(code.json().html).toContain('&lt;b&gt;hi&lt;/b&gt;');

    const unknownId = await uploadReady('lib/x.rb', 'puts "<i>x</i>"\n');
    const unknown = await t.app.inject({ url: `/api/v1/documents/${unknownId}/rendered`, headers: auth });
    expect(unknown.json().html.trim()).toBe('<pre><code class="hljs">puts "&lt;i&gt;x&lt;/i&gt;"\n</code></pre>');
  });

  it('answers If-None-Match with 304, and the owner only', async () => {
    const id = await uploadReady('etag.ts', 'export const x = 1;\n');
    const first = await t.app.inject({ url: `/api/v1/documents/${id}/rendered`, headers: auth });
    const etag = first.headers.etag as string;
    expect(etag).toMatch(/^"[0-9a-f]{64}\.[0-9a-z]+\.[0-9a-f]{12}"$/);
    expect(first.headers['cache-control']).toBe('private, no-cache');
    const again = await t.app.inject({ url: `/api/v1/documents/${id}/rendered`, headers: { ...auth, 'if-none-match': etag } });
    expect(again.statusCode).toBe(304);
    expect(again.body).toBe('');
    expect(again.headers['content-length']).toBeUndefined();
    expect(again.headers['content-type']).toBeUndefined();
    const other = bearer((await registerAndLogin(t.app)).token);
    expect((await t.app.inject({ url: `/api/v1/documents/${id}/rendered`, headers: other })).statusCode).toBe(404);
    expect((await t.app.inject({ url: `/api/v1/documents/${id}/rendered` })).statusCode).toBe(401);
  });
});

describe('render API: a document the parse job has not reached', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp('embedded', { worker: false });
  });
  afterAll(() => t.close());

  it('answers 409 CONFLICT while the document is pending', async () => {
    const auth = bearer((await registerAndLogin(t.app)).token);
    const project = await t.app.inject({ method: 'POST', url: '/api/v1/projects', payload: { name: 'p' }, headers: auth });
    const upload = await t.app.inject({
      method: 'POST',
      url: `/api/v1/projects/${project.json().project.id}/documents`,
      payload: { path: 'a.md', content: '# a' },
      headers: auth,
    });
    expect(upload.json().document.state).toBe('pending');
    const response = await t.app.inject({ url: `/api/v1/documents/${upload.json().document.id}/rendered`, headers: auth });
    expect(response.statusCode).toBe(409);
    expect(response.json().error_code).toBe('CONFLICT');
  });
});
