// ALERTMANAGER_URL: alerts go to an existing Alertmanager's /api/v2/alerts as Prometheus
// sends them (resend timing with a fake clock), and end to end against Debian's real
// Alertmanager: the alert appears there while it fires and leaves once it resolved.
// The end-to-end part is skipped without the prometheus-alertmanager package (CI installs it).
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Alert } from '../../../src/modules/monitoring/alerting.ts';
import { AlertmanagerClient, RESEND_DELAY_MS } from '../../../src/modules/monitoring/alertmanager.ts';
import { AppError } from '../../../src/platform/errors.ts';
import { createLogger } from '../../../src/platform/observability/logger.ts';
import { freePort } from '../../helpers/processes.ts';
import { startTestApp, type TestApp } from '../../helpers/test-app.ts';
import { eventually } from '../../helpers/wait.ts';

const installed = spawnSync('prometheus-alertmanager', ['--version']).status === 0;

describe('Alertmanager resend timing', () => {
  it('sends firing alerts every resend delay with endsAt four delays ahead, a resolved one at once, never a pending one', () => {
    const client = new AlertmanagerClient('http://127.0.0.1:9/', 15_000, createLogger('silent'));
    const firing: Alert = { rule: 'A', labels: { alertname: 'A' }, annotations: {}, state: 'firing', value: 1, activeAt: 0, firedAt: 0 };
    const pending: Alert = { ...firing, rule: 'B', labels: { alertname: 'B' }, state: 'pending', firedAt: undefined };
    const first = client.due([firing, pending], 1000);
    expect(first).toEqual([
      {
        labels: { alertname: 'A' },
        annotations: {},
        startsAt: new Date(0).toISOString(),
        endsAt: new Date(1000 + 4 * RESEND_DELAY_MS).toISOString(),
        generatorURL: '',
      },
    ]);
    expect(client.due([firing], 2000)).toEqual([]);
    expect(client.due([firing], 1000 + RESEND_DELAY_MS)).toHaveLength(1);
    const resolved: Alert = { ...firing, state: 'inactive', resolvedAt: 5000 + RESEND_DELAY_MS };
    expect(client.due([resolved], 5000 + RESEND_DELAY_MS)).toEqual([
      expect.objectContaining({ endsAt: new Date(5000 + RESEND_DELAY_MS).toISOString() }),
    ]);
    expect(client.due([resolved], 6000 + RESEND_DELAY_MS)).toEqual([]);
  });
});

describe.skipIf(!installed)('ALERTMANAGER_URL against a real Alertmanager (skipped without prometheus-alertmanager)', () => {
  let alertmanager: ChildProcess;
  let url: string;
  let t: TestApp;
  beforeAll(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rampart-alertmanager-'));
    writeFileSync(join(dir, 'alertmanager.yml'), "route:\n  receiver: 'null'\nreceivers:\n  - name: 'null'\n");
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    alertmanager = spawn(
      'prometheus-alertmanager',
      [
        `--config.file=${join(dir, 'alertmanager.yml')}`,
        `--storage.path=${dir}`,
        `--web.listen-address=127.0.0.1:${port}`,
        '--cluster.listen-address=',
        '--log.level=warn',
      ],
      { stdio: ['ignore', 'ignore', 'inherit'] },
    );
    await eventually(async () => (await fetch(`${url}/-/ready`).catch(() => undefined))?.ok);
    t = await startTestApp('embedded', {
      env: {
        ALERT_RULES_FILE: join(import.meta.dirname, '..', '..', 'fixtures', 'alert-rules', 'e2e.yml'),
        ALERT_EVAL_INTERVAL: '500ms',
        ALERTMANAGER_URL: url,
      },
      extend: (app) => {
        app.get('/test/fail', { schema: { hide: true } }, async () => {
          throw new AppError('UNAVAILABLE', 'failing on purpose');
        });
      },
    });
  }, 120_000);
  afterAll(async () => {
    await t?.close();
    alertmanager?.kill('SIGTERM');
  });

  const inAlertmanager = async () => {
    const alerts = (await (await fetch(`${url}/api/v2/alerts`)).json()) as { labels: Record<string, string>; status: { state: string } }[];
    return alerts.find((alert) => alert.labels.alertname === 'TestServerErrors');
  };

  it('posts the firing alert with its labels, and resolves it there when the errors stop', async () => {
    const posted = await eventually(async () => {
      await t.app.inject({ url: '/test/fail' });
      return inAlertmanager();
    });
    expect(posted.labels).toMatchObject({ alertname: 'TestServerErrors', route: '/test/fail', severity: 'test' });
    expect(posted.status.state).toBe('active');
    await eventually(async () => (await inAlertmanager()) === undefined);
  });
});
