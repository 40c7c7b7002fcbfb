// The monitoring module: the alert rules (built-in file plus ALERT_RULES_FILE, checked when
// the module is built so a bad rule stops start-up), the evaluator loop, the admin routes
// and the admins-only `alerts` realtime topic.
import { join } from 'node:path';
import type { Module } from '../../platform/module.ts';
import type { Platform } from '../../platform/platform.ts';
import type { Guard } from '../auth/guard.ts';
import { AlertingRule } from './alerting.ts';
import { AlertmanagerClient } from './alertmanager.ts';
import { AlertEvaluator } from './evaluator.ts';
import { monitoringJobs } from './jobs.ts';
import { MetricsOverview } from './overview.ts';
import { registerMonitoringRoutes } from './routes.ts';
import { loadRules } from './rules.ts';
import { ALERTS_TOPIC, MonitoringService } from './service.ts';

/** The rules Rampart ships, in Prometheus' rule-file format. */
export const BUILTIN_RULES_FILE = join(import.meta.dirname, 'builtin-rules.yml');

export interface MonitoringModule extends Module {
  service: MonitoringService;
  evaluator: AlertEvaluator;
}

export function createMonitoringModule(platform: Platform, guard: Guard): MonitoringModule {
  const { monitoring } = platform.config;
  const rules = loadRules(BUILTIN_RULES_FILE, monitoring.alertRulesFile).map((rule) => new AlertingRule(rule));
  const service = new MonitoringService(platform, rules);
  const overview = new MetricsOverview({
    redis: platform.redis,
    keyPrefix: platform.config.redisKeyPrefix,
    stepMs: monitoring.alertEvalIntervalMs,
    logger: platform.logger,
  });
  const alertmanager = monitoring.alertmanagerUrl
    ? new AlertmanagerClient(monitoring.alertmanagerUrl, monitoring.alertEvalIntervalMs, platform.logger)
    : undefined;
  const evaluator = new AlertEvaluator({
    rules,
    repo: service.repo,
    // Each evaluation's snapshot is also the overview's next point (every worker keeps one).
    snapshot: async () => overview.record(Date.now(), await platform.metricSnapshots.cluster()),
    enqueue: (tx, transitions, alerts, now) => service.enqueueWebhooks(tx, transitions, alerts, now),
    notify: (transitions) => service.notify(transitions),
    sendAll: alertmanager && ((alerts, now) => alertmanager.send(alerts, now)),
    countAlerts: (counts) => platform.metrics.alerts(counts),
    intervalMs: monitoring.alertEvalIntervalMs,
    logger: platform.logger,
  });
  return {
    name: 'monitoring',
    service,
    evaluator,
    routes: (api) => registerMonitoringRoutes(api, service, guard, overview),
    jobs: monitoringJobs(monitoring.alertWebhookSecret),
    loops: [evaluator],
    topics: [{ prefix: ALERTS_TOPIC, maySubscribe: async (subscriber) => subscriber.role === 'admin' }],
  };
}
