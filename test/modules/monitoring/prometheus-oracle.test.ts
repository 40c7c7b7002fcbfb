// Real Prometheus as the oracle: it scrapes a running Rampart with the same rule file Rampart's
// engine loads; traffic and errors are driven, and both must fire and resolve the same alerts
// (same names and labels) within two evaluation intervals of each other. Skipped without the
// Debian `prometheus` package (CI installs it).
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { AppError } from '../../../src/platform/errors.ts';
import { freePort } from '../../helpers/processes.ts';
import { startTestApp, type TestApp } from '../../helpers/test-app.ts';
import { eventually } from '../../helpers/wait.ts';

const RULES = join(import.meta.dirname, '..', '..', 'fixtures', 'alert-rules', 'oracle.yml');
const INTERVAL_S = 5;
const prometheusInstalled = spawnSync('prometheus', ['--version']).status === 0;

type Seen = Map<string, { firing?: number; resolved?: number }>;

/** "name{labels}" without Prometheus' own target labels, so both sides key alike. */
function alertKey(labels: Record<string, string>): string {
  const { instance: _instance, job: _job, ...rest } = labels;
  return JSON.stringify(Object.fromEntries(Object.entries(rest).sort(([a], [b]) => a.localeCompare(b))));
}

describe.skipIf(!prometheusInstalled)('Prometheus as the oracle of the rule engine (skipped without prometheus)', () => {
  let t: TestApp;
  let prometheus: ChildProcess;
  let prometheusUrl: string;
  const ours: Seen = new Map();
  const theirs: Seen = new Map();
  let polling = true;
  let poller: Promise<void> = Promise.resolve();

  beforeAll(async () => {
    t = await startTestApp('embedded', {
      env: { ALERT_RULES_FILE: RULES, ALERT_EVAL_INTERVAL: `${INTERVAL_S}s` },
      extend: (app) => {
        app.get('/test/fail', { schema: { hide: true } }, async () => {
          throw new AppError('UNAVAILABLE', 'failing on purpose');
        });
        app.get('/test/slow', { schema: { hide: true } }, async () => {
          await sleep(120);
          return { ok: true };
        });
      },
    });
    const port = await freePort();
    await t.app.listen({ host: '127.0.0.1', port });
    // Rampart's side: what the module publishes on the alerts topic, seen at the hub.
    const hub = t.platform.realtime;
    const publish = hub.publish.bind(hub);
    vi.spyOn(hub, 'publish').mockImplementation((topic, event, data, requestId) => {
      if (topic === 'alerts') {
        const { labels } = data as { labels: Record<string, string> };
        const entry = ours.get(alertKey(labels)) ?? {};
        if (event === 'alert.firing') entry.firing ??= Date.now();
        if (event === 'alert.resolved') entry.resolved ??= Date.now();
        ours.set(alertKey(labels), entry);
      }
      publish(topic, event, data, requestId);
    });
    const dir = mkdtempSync(join(tmpdir(), 'rampart-prometheus-'));
    const config = join(dir, 'prometheus.yml');
    writeFileSync(
      config,
      `global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: ${INTERVAL_S}s\nrule_files:\n  - ${RULES}\nscrape_configs:\n  - job_name: rampart\n    static_configs:\n      - targets: ['127.0.0.1:${port}']\n`,
    );
    const webPort = await freePort();
    prometheusUrl = `http://127.0.0.1:${webPort}`;
    prometheus = spawn(
      'prometheus',
      [
        `--config.file=${config}`,
        `--storage.tsdb.path=${join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${webPort}`,
        '--log.level=warn',
      ],
      { stdio: ['ignore', 'ignore', 'inherit'] },
    );
    await eventually(async () => (await fetch(`${prometheusUrl}/-/ready`).catch(() => undefined))?.ok);
    const poll = async () => {
      while (polling) {
        const response = await fetch(`${prometheusUrl}/api/v1/alerts`).catch(() => undefined);
        if (response?.ok) {
          const { data } = (await response.json()) as { data: { alerts: { labels: Record<string, string>; state: string }[] } };
          const firingNow = new Set(data.alerts.filter((each) => each.state === 'firing').map((each) => alertKey(each.labels)));
          for (const key of firingNow) {
            const entry = theirs.get(key) ?? {};
            entry.firing ??= Date.now();
            theirs.set(key, entry);
          }
          for (const [key, entry] of theirs) if (entry.firing && !firingNow.has(key)) entry.resolved ??= Date.now();
        }
        await sleep(200);
      }
    };
    poller = poll();
  }, 120_000);

  afterAll(async () => {
    polling = false;
    await poller;
    prometheus?.kill('SIGTERM');
    await t?.close();
  });

  it('fires and resolves the same alerts as Prometheus, within two evaluation intervals', async () => {
    // Errors and slow requests keep coming for a while (both engines need two samples of a series).
    const until = Date.now() + 20_000;
    while (Date.now() < until) {
      await Promise.all([t.app.inject({ url: '/test/fail' }), t.app.inject({ url: '/test/slow' })]);
      await sleep(250);
    }
    const expected = [
      alertKey({ alertname: 'OracleServerErrors', route: '/test/fail', severity: 'test' }),
      alertKey({ alertname: 'OracleSlowRequests', route: '/test/slow', severity: 'test' }),
    ];
    await eventually(async () => expected.every((key) => ours.get(key)?.firing && theirs.get(key)?.firing), 60_000);
    // Then everything stops; both resolve once the 10 s windows empty.
    await eventually(async () => expected.every((key) => ours.get(key)?.resolved && theirs.get(key)?.resolved), 90_000);
    expect(new Set(ours.keys())).toEqual(new Set(theirs.keys()));
    const slack = 2 * INTERVAL_S * 1000 + 1000; // two intervals, plus the poll and scrape periods
    for (const key of expected) {
      const a = ours.get(key) as { firing: number; resolved: number };
      const b = theirs.get(key) as { firing: number; resolved: number };
      expect(Math.abs(a.firing - b.firing), `${key} firing`).toBeLessThanOrEqual(slack);
      expect(Math.abs(a.resolved - b.resolved), `${key} resolved`).toBeLessThanOrEqual(slack);
    }
  }, 240_000);
});
