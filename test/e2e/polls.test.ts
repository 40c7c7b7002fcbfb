// Polls in a real browser, two people at once: one creates a poll and watches its bar chart,
// the other opens the shared link and votes; the first one's chart changes within a second,
// without a reload. A second vote by the same person gets the already-voted banner.
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkPage, openPage, registerInUi, skipWithoutChromium, startUiServer, type UiServer, type Watched } from './browser.ts';

const votesFor = (page: Page, option: number) =>
  page.getByTestId('results').locator(`li[data-option="${option}"]`).getAttribute('data-votes');

describe.skipIf(skipWithoutChromium)('web UI: polls', () => {
  let server: UiServer;
  let owner: Watched;
  let voter: Watched;
  beforeAll(async () => {
    server = await startUiServer();
    [owner, voter] = await Promise.all([openPage(server), openPage(server)]);
    await registerInUi(owner.page, 'owner');
    await registerInUi(voter.page, 'voter');
  });
  afterAll(async () => {
    await owner?.context.close();
    await voter?.context.close();
    await server?.close();
  });

  it("updates the other browser's bar chart within a second of a vote, without a reload", async () => {
    const { page } = owner;
    await page.getByRole('link', { name: 'Polls' }).click();
    await page.getByRole('heading', { level: 1, name: 'Polls' }).waitFor();
    await checkPage(owner, 'polls');
    await page.getByLabel('Question').fill('Which editor?');
    await page.getByLabel('Option 1').fill('Vim');
    await page.getByLabel('Option 2').fill('Emacs');
    await page.getByRole('button', { name: 'Add an option' }).click();
    await page.getByLabel('Option 3').fill('Nano');
    await page.getByRole('button', { name: 'Create poll' }).click();
    await page.getByRole('heading', { level: 1, name: 'Which editor?' }).waitFor();
    await page.locator('[data-live="live"]').waitFor();
    expect(await votesFor(page, 1)).toBe('0');
    await page.evaluate(() => Object.assign(window, { __sameDocument: true }));

    // The other person opens the shared link.
    await voter.page.goto(new URL(page.url()).pathname);
    await voter.page.getByRole('radio', { name: 'Emacs' }).check();
    const accepted = voter.page.waitForResponse((response) => response.url().endsWith('/votes') && response.status() === 202);
    await voter.page.getByRole('button', { name: 'Vote' }).click();
    await accepted;
    const acceptedAt = Date.now();
    await page.waitForFunction(
      () => document.querySelector('[data-testid="results"] li[data-option="1"]')?.getAttribute('data-votes') === '1',
      undefined,
      {
        timeout: 10_000,
        polling: 20,
      },
    );
    const latencyMs = Date.now() - acceptedAt;
    expect(latencyMs, `chart updated ${latencyMs} ms after the vote was accepted`).toBeLessThan(1_000);
    expect(await page.evaluate(() => (window as unknown as { __sameDocument?: boolean }).__sameDocument)).toBe(true);
    expect(await page.getByTestId('results').textContent()).toContain('1 vote (100 %)');
    await voter.page.getByRole('status').filter({ hasText: 'Vote received' }).waitFor();
    await checkPage(owner, 'poll');

    // Voting again (after a reload) is refused with its own banner.
    await voter.page.reload();
    await voter.page.getByRole('radio', { name: 'Vim' }).check();
    await voter.page.getByRole('button', { name: 'Vote' }).click();
    await voter.page.getByRole('alert').filter({ hasText: 'You have already voted' }).waitFor();
    expect(await votesFor(page, 0)).toBe('0');
  });
});
