// The monitoring module: the alert rules (built-in file plus ALERT_RULES_FILE), loaded and
// checked when the module is built so a bad rule stops start-up.
import { join } from 'node:path';
import type { Module } from '../../platform/module.ts';
import type { Platform } from '../../platform/platform.ts';
import { AlertingRule } from './alerting.ts';
import { loadRules } from './rules.ts';

/** The rules Rampart ships, in Prometheus' rule-file format. */
export const BUILTIN_RULES_FILE = join(import.meta.dirname, 'builtin-rules.yml');

export interface MonitoringModule extends Module {
  rules: AlertingRule[];
}

export function createMonitoringModule(platform: Platform): MonitoringModule {
  const rules = loadRules(BUILTIN_RULES_FILE, platform.config.monitoring.alertRulesFile).map((rule) => new AlertingRule(rule));
  return { name: 'monitoring', rules };
}
