// Monitoring settings and start-up: ALERT_* and METRICS_TOKEN are validated, and a bad rule
// in ALERT_RULES_FILE stops the app from starting with the rule named.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../../src/config.ts';
import { startTestApp } from '../../helpers/test-app.ts';

describe('monitoring settings', () => {
  it('parses the defaults and durations, and refuses bad values', () => {
    const defaults = loadConfig({}).monitoring;
    expect(defaults).toEqual({
      metricsToken: undefined,
      alertRulesFile: undefined,
      alertEvalIntervalMs: 15_000,
      alertWebhookUrls: [],
      alertWebhookSecret: undefined,
      alertRepeatIntervalMs: 4 * 3_600_000,
      alertmanagerUrl: undefined,
      sentryDsn: undefined,
    });
    const set = loadConfig({ ALERT_EVAL_INTERVAL: '2s', ALERT_RULES_FILE: 'rules.yml', METRICS_TOKEN: 'x'.repeat(16) }).monitoring;
    expect(set).toMatchObject({
      metricsToken: 'x'.repeat(16),
      alertRulesFile: join(process.cwd(), 'rules.yml'),
      alertEvalIntervalMs: 2000,
    });
    const hooks = loadConfig({
      ALERT_WEBHOOK_URLS: 'http://a.example/x, https://b.example/y',
      ALERT_WEBHOOK_SECRET: 's'.repeat(16),
    }).monitoring;
    expect(hooks.alertWebhookUrls).toEqual(['http://a.example/x', 'https://b.example/y']);
    expect(loadConfig({ ALERT_EVAL_INTERVAL: '1m' }).monitoring.alertEvalIntervalMs).toBe(60_000);
    expect(loadConfig({ ALERT_EVAL_INTERVAL: '500' }).monitoring.alertEvalIntervalMs).toBe(500);
    for (const [env, variable] of [
      [{ ALERT_EVAL_INTERVAL: 'soon' }, 'ALERT_EVAL_INTERVAL'],
      [{ ALERT_EVAL_INTERVAL: '10ms' }, 'ALERT_EVAL_INTERVAL'],
      [{ METRICS_TOKEN: 'short' }, 'METRICS_TOKEN'],
      [{ METRICS_TOKEN: 'has spaces in the token' }, 'METRICS_TOKEN'],
      [{ ALERT_WEBHOOK_URLS: 'http://a.example/x' }, 'ALERT_WEBHOOK_SECRET'],
      [{ ALERT_WEBHOOK_URLS: 'ftp://a.example/x', ALERT_WEBHOOK_SECRET: 's'.repeat(16) }, 'ALERT_WEBHOOK_URLS[0]'],
      [{ ALERT_REPEAT_INTERVAL: '10ms' }, 'ALERT_REPEAT_INTERVAL'],
    ] as const) {
      expect(() => loadConfig(env), variable).toThrow(ConfigError);
      expect(() => loadConfig(env), variable).toThrow(variable);
    }
  });

  it('refuses to start with a rule outside the subset, naming it', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'rampart-rules-')), 'bad.yml');
    writeFileSync(
      file,
      'groups:\n  - name: extra\n    rules:\n      - alert: Scanner\n        expr: topk(3, rampart_http_requests_total)\n',
    );
    await expect(startTestApp('embedded', { env: { ALERT_RULES_FILE: file } })).rejects.toThrow(
      /bad\.yml:4: group "extra", alert rule "Scanner": expr: the aggregation "topk" is outside the supported PromQL subset \(at position 1\)/,
    );
  });
});
