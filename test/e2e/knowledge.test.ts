// The knowledge page in a real browser: an entry added through the form turns ready, a search
// shows the mode that ran and the matching snippet, and a context is built under the length
// chosen with the slider, with its citations.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkPage, openPage, registerInUi, skipWithoutChromium, startUiServer, type UiServer, type Watched } from './browser.ts';

describe.skipIf(skipWithoutChromium)('web UI: knowledge', () => {
  let server: UiServer;
  let watched: Watched;
  beforeAll(async () => {
    server = await startUiServer();
    watched = await openPage(server);
    await registerInUi(watched.page, 'knowledge');
  });
  afterAll(async () => {
    await watched?.context.close();
    await server?.close();
  });

  it('adds an entry, searches it with the mode shown, and builds a context under the chosen length', async () => {
    const { page } = watched;
    await page.getByRole('link', { name: 'Knowledge' }).click();
    await page.getByRole('heading', { level: 1, name: 'Knowledge' }).waitFor();
    await page.getByText('No entries yet.').waitFor();
    await page.getByLabel('Title').fill('Rotating the signing keys');
    await page
      .getByLabel('Content')
      .fill(
        'Signing keys rotate every ninety days. Generate the new key, publish it beside the old one, switch signing over, and retire the old key a week later.\n\n'.repeat(
          6,
        ),
      );
    await page.getByLabel('Tags (comma-separated, optional)').fill('security, keys');
    await page.getByRole('button', { name: 'Add entry' }).click();
    // Chunked and embedded by a job; the page looks again while an entry is pending.
    await page.locator('.cards li').filter({ hasText: 'Rotating the signing keys' }).locator('.state-ready').waitFor({ timeout: 60_000 });

    await page.getByLabel('Query').fill('rotate signing keys');
    await page.getByLabel('Mode').selectOption('text');
    await page.getByRole('button', { name: 'Search', exact: true }).click();
    expect(await page.getByTestId('search-mode').textContent()).toBe('text');
    await page.locator('.hits li').filter({ hasText: 'Rotating the signing keys' }).first().waitFor();
    expect(await page.locator('.hits mark').count()).toBeGreaterThan(0);

    await page.getByLabel('Question').fill('How are signing keys rotated?');
    await page.getByLabel('Maximum length').fill('300');
    expect(await page.locator('output[for="context-length"]').textContent()).toBe('300 characters');
    await page.getByRole('button', { name: 'Build context' }).click();
    const context = page.locator('pre.context');
    await context.waitFor();
    expect((await context.textContent())?.length).toBeLessThanOrEqual(300);
    await page.getByRole('heading', { name: 'Citations' }).waitFor();
    expect(await page.locator('section[aria-labelledby="context-heading"] ol li').first().textContent()).toContain(
      'Rotating the signing keys',
    );
    await checkPage(watched, 'knowledge');
  });
});
