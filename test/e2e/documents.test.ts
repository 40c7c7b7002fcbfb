// Documents in a real browser: upload with the picker and by drag-and-drop, the state turning
// ready live (no reload), search as you type, the rendered view with the render CSS, a zip
// import and its folders, and the render XSS corpus shown without any script running.
import type { Readable } from 'node:stream';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import yazl from 'yazl';
import { XSS_CORPUS } from '../modules/render/xss-corpus.ts';
import { checkPage, openPage, registerInUi, skipWithoutChromium, startUiServer, type UiServer, type Watched } from './browser.ts';

async function zipOf(entries: Record<string, string>): Promise<Buffer> {
  const zip = new yazl.ZipFile();
  for (const [name, content] of Object.entries(entries)) zip.addBuffer(Buffer.from(content), name);
  zip.end();
  const chunks: Buffer[] = [];
  for await (const chunk of zip.outputStream as Readable) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

const row = (page: Page, path: string) => page.locator(`tr[data-path="${path}"]`);

describe.skipIf(skipWithoutChromium)('web UI: projects and documents', () => {
  let server: UiServer;
  let watched: Watched;
  let projectUrl: string;
  beforeAll(async () => {
    server = await startUiServer();
    watched = await openPage(server);
    await registerInUi(watched.page, 'docs');
    await watched.page.getByLabel('Project name').fill('Handbook');
    await watched.page.getByRole('button', { name: 'Create project' }).click();
    await watched.page.getByRole('heading', { level: 1, name: 'Handbook' }).waitFor();
    projectUrl = watched.page.url();
  });
  afterAll(async () => {
    await watched?.context.close();
    await server?.close();
  });

  it('uploads a file, shows it ready live, finds it as you type, and opens it rendered', async () => {
    const { page } = watched;
    // Set before the upload: still here after it means the page never reloaded.
    await page.evaluate(() => Object.assign(window, { __sameDocument: true }));
    await page.locator('#upload-input').setInputFiles({
      name: 'greeter.ts',
      mimeType: 'text/plain',
      buffer: Buffer.from('export function greet(name: string): string {\n  const greeting = "Hello, " + name;\n  return greeting;\n}\n'),
    });
    await page.getByRole('list', { name: 'Uploads' }).getByText('uploaded').waitFor();
    await row(page, 'greeter.ts').locator('.state-ready').waitFor();
    expect(await page.evaluate(() => (window as unknown as { __sameDocument?: boolean }).__sameDocument)).toBe(true);
    await checkPage(watched, 'project');

    await page.getByLabel('Search file names').fill('greet');
    await row(page, 'greeter.ts').waitFor();
    await page.getByLabel('Search file names').fill('no-such-file');
    await page.getByText('No file name contains “no-such-file”.').waitFor();
    await page.getByLabel('Search file names').fill('GREETER');
    await row(page, 'greeter.ts').getByRole('link').click();

    await page.getByRole('heading', { level: 1, name: 'greeter.ts' }).waitFor();
    const keyword = page.getByTestId('rendered').locator('.hljs-keyword').first();
    await keyword.waitFor();
    expect(await keyword.textContent()).toBe('export');
    // The render CSS (themes.css) colours it: GitHub's keyword red in the light theme.
    expect(await keyword.evaluate((element) => getComputedStyle(element).color)).toBe('rgb(215, 58, 73)');
    await checkPage(watched, 'document');
  });

  it('takes files dropped on the drop zone', async () => {
    const { page } = watched;
    await page.goto(projectUrl);
    const dataTransfer = await page.evaluateHandle(() => {
      const transfer = new DataTransfer();
      transfer.items.add(new File(['# Dropped\n\nBy drag and drop.\n'], 'dropped.md', { type: 'text/markdown' }));
      return transfer;
    });
    await page.getByTestId('dropzone').dispatchEvent('drop', { dataTransfer });
    await row(page, 'dropped.md').locator('.state-ready').waitFor();
  });

  it('imports a zip, reports its result, and browses its folders', async () => {
    const { page } = watched;
    await page.goto(projectUrl);
    const archive = await zipOf({ 'guide/intro.md': '# Intro\n', 'guide/setup.md': '# Setup\n', 'tools/build.py': 'print("build")\n' });
    await page.locator('#import-input').setInputFiles({ name: 'bundle.zip', mimeType: 'application/zip', buffer: archive });
    const result = page.getByTestId('import-result');
    await result.waitFor();
    expect(await result.getAttribute('role')).toBe('status');
    expect(await result.textContent()).toContain('3 files imported');
    // The folder's own listing is held back: until it comes, the page still has the top
    // folder's, and only that listing's paths under guide/ may show (tools/build.py once
    // showed as guide/'s "build.py" there).
    let releaseListing = () => {};
    const listingHeld = new Promise<void>((resolve) => {
      releaseListing = resolve;
    });
    const folderListing = /\/documents\?.*prefix=guide/;
    await page.route(folderListing, async (route) => {
      await listingHeld;
      await route.continue();
    });
    await page.getByRole('link', { name: 'guide/' }).click();
    await page.getByRole('navigation', { name: 'Folder' }).getByRole('link', { name: 'guide' }).waitFor();
    await row(page, 'guide/intro.md').waitFor();
    expect(await row(page, 'tools/build.py').count()).toBe(0);
    releaseListing();
    // Waits for the held requests' handlers to send them on (a plain unroute may answer them
    // first, and their continue() then throws "Route is already handled").
    await page.unrouteAll({ behavior: 'wait' });
    await row(page, 'guide/intro.md').locator('.state-ready').waitFor();
    await row(page, 'guide/setup.md').waitFor();
    expect(await row(page, 'tools/build.py').count()).toBe(0);
    await page.getByRole('navigation', { name: 'Folder' }).getByRole('link', { name: 'Handbook' }).click();
    await page.getByRole('link', { name: 'tools/' }).waitFor();
  });

  it('shows the render XSS corpus with no dialog, no script and no CSP violation', async () => {
    const { page } = watched;
    await page.goto(projectUrl);
    const corpus = XSS_CORPUS.join('\n\n');
    await page.locator('#upload-input').setInputFiles({ name: 'hostile.md', mimeType: 'text/markdown', buffer: Buffer.from(corpus) });
    await row(page, 'hostile.md').locator('.state-ready').waitFor();
    await row(page, 'hostile.md').getByRole('link').click();
    const rendered = page.getByTestId('rendered');
    await rendered.waitFor();
    await page.waitForFunction(() => (document.querySelector('[data-testid="rendered"]')?.childNodes.length ?? 0) > 0);
    // Give anything that would fire (onerror, onload, animations) its moment.
    await page.waitForTimeout(500);
    expect(watched.dialogs).toEqual([]);
    expect(await rendered.locator('script, iframe, object, embed, [onerror], [onload], [style]').count()).toBe(0);
    expect(await rendered.locator('a[href^="javascript:" i]').count()).toBe(0);
    // Images from elsewhere are links, not loads (the CSP allows images from this origin only).
    expect(await rendered.locator('img[src^="http"]').count()).toBe(0);
    await checkPage(watched, 'document-xss-corpus');
    expect(watched.dialogs).toEqual([]);
  });
});
