// The admin pages in a real browser: users (deactivate), a failed job appearing live at
// /admin/jobs and Retry making it run, an alert fired by real 5xx answers appearing live on
// the alerts page, and the metrics overview's charts.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppError } from '../../src/platform/errors.ts';
import { bearer, registerAndLogin } from '../helpers/accounts.ts';
import { eventually } from '../helpers/wait.ts';
import { checkPage, openPage, signInInUi, skipWithoutChromium, startUiServer, type UiServer, type Watched } from './browser.ts';

const RULES = join(import.meta.dirname, '..', 'fixtures', 'alert-rules', 'e2e.yml');

describe.skipIf(skipWithoutChromium)('web UI: admin', () => {
  let server: UiServer;
  let admin: Watched;
  // While set, every parse job throws: the job fails all its attempts.
  let parsesFail = false;
  beforeAll(async () => {
    server = await startUiServer({
      env: { ALERT_RULES_FILE: RULES, ALERT_EVAL_INTERVAL: '500ms' },
      extend: (app) => {
        app.get('/test/fail', { schema: { hide: true } }, async () => {
          throw new AppError('UNAVAILABLE', 'failing on purpose');
        });
      },
      modules: {
        documents: {
          afterFirstParseWrite() {
            if (parsesFail) throw new Error('parser broken on purpose');
          },
        },
      },
    });
    admin = await openPage(server);
    const account = await registerAndLogin(server.t.app);
    await server.t.platform.db.query("update users set role = 'admin' where id = $1", [account.userId]);
    await signInInUi(admin.page, account.email, account.password);
    await admin.page.getByRole('link', { name: 'Jobs' }).waitFor();
  });
  afterAll(async () => {
    await admin?.context.close();
    await server?.close();
  });

  it('lists users and deactivates one', async () => {
    const other = await registerAndLogin(server.t.app);
    const { page } = admin;
    await page.getByRole('link', { name: 'Users' }).click();
    const row = page.locator(`tr[data-email="${other.email}"]`);
    await row.waitFor();
    await checkPage(admin, 'admin-users');
    await row.getByRole('button', { name: /Deactivate/ }).click();
    await row.getByText('deactivated').waitFor();
    expect((await server.t.app.inject({ url: '/api/v1/auth/me', headers: bearer(other.token) })).statusCode).toBe(401);
  });

  it('shows a failed job live at /admin/jobs, and Retry makes it run', async () => {
    const { page } = admin;
    await page.getByRole('link', { name: 'Jobs' }).click();
    await page.locator('[data-live="live"]').waitFor();
    expect(new URL(page.url()).pathname).toBe('/admin/jobs');
    // Someone uploads a document whose parse job keeps failing.
    parsesFail = true;
    const owner = bearer((await registerAndLogin(server.t.app)).token);
    const project = (await server.t.app.inject({ method: 'POST', url: '/api/v1/projects', payload: { name: 'p' }, headers: owner })).json()
      .project;
    const uploaded = await server.t.app.inject({
      method: 'POST',
      url: `/api/v1/projects/${project.id}/documents`,
      payload: { path: 'broken.md', content: '# will fail\n' },
      headers: owner,
    });
    const documentId = uploaded.json().document.id as string;
    const failed = page.locator('tr[data-state="failed"]').filter({ hasText: 'documents.parse' });
    await failed.waitFor({ timeout: 60_000 });
    await checkPage(admin, 'admin-jobs');
    // The filter keeps it in view and says so in the address.
    await page.getByLabel('State').selectOption('failed');
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.waitForURL(/state=failed/);
    await failed.waitFor();
    const jobId = await failed.getAttribute('data-job-id');
    parsesFail = false;
    await failed.getByRole('button', { name: /Retry/ }).click();
    await page.getByLabel('State').selectOption('');
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.locator(`tr[data-job-id="${jobId}"][data-state="completed"]`).waitFor({ timeout: 60_000 });
    const document = await eventually(async () => {
      const response = await server.t.app.inject({ url: `/api/v1/documents/${documentId}`, headers: owner });
      return response.json().document.state === 'ready' ? response.json().document : undefined;
    });
    expect(document.state).toBe('ready');
  });

  it('shows an alert fired by real 5xx answers live on the alerts page', async () => {
    const { page } = admin;
    await page.getByRole('link', { name: 'Alerts' }).click();
    await page.locator('[data-live="live"]').waitFor();
    const firing = page.getByTestId('firing').locator('li[data-rule="TestServerErrors"]');
    expect(await firing.count()).toBe(0);
    await page.evaluate(() => Object.assign(window, { __sameDocument: true }));
    // Like a Prometheus rate, the rule needs the 5xx counter to grow between two evaluations:
    // errors keep coming until the page shows the alert (the page itself is never reloaded).
    await eventually(async () => {
      expect((await fetch(`${server.url}/test/fail`)).status).toBe(503);
      return (await firing.count()) > 0;
    }, 30_000);
    expect(await page.evaluate(() => (window as unknown as { __sameDocument?: boolean }).__sameDocument)).toBe(true);
    expect(await firing.textContent()).toContain('/test/fail answers 5xx');
    await checkPage(admin, 'admin-alerts');
    // Silencing it from the page creates a silence that can be ended again.
    await firing.getByRole('button', { name: /Silence/ }).click();
    await page.getByLabel('Why').fill('known, being fixed');
    await page.getByRole('button', { name: 'Silence', exact: true }).click();
    await page.getByRole('button', { name: 'End now' }).click();
    await page.getByRole('heading', { name: 'Silences made here' }).waitFor({ state: 'detached' });
  });

  it('charts request rate, 5xx ratio and p95 latency', async () => {
    const { page } = admin;
    await page.getByRole('link', { name: 'Metrics' }).click();
    await page.getByRole('heading', { level: 1, name: 'Metrics' }).waitFor();
    const rate = page.getByTestId('chart-rate');
    await rate.locator('path.line').waitFor();
    expect(await rate.locator('svg').getAttribute('aria-label')).toMatch(/^Requests per second: now \d/);
    await checkPage(admin, 'admin-metrics');
  });
});
