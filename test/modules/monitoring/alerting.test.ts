// Alerting rules with a fake clock: pending, firing, resolved with Prometheus' `for` and
// `keep_firing_for`, templating, rule-file loading and its errors, and promtool agreeing
// that the built-in and test rule files are valid.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AlertingRule, RESOLVED_RETENTION_MS, type Transition } from '../../../src/modules/monitoring/alerting.ts';
import { BUILTIN_RULES_FILE } from '../../../src/modules/monitoring/module.ts';
import { loadRules, parseRuleFile, RuleFileError } from '../../../src/modules/monitoring/rules.ts';
import { type Sample, SeriesStore } from '../../../src/modules/monitoring/series-store.ts';
import { checkTemplate, expandTemplate, goFloat } from '../../../src/modules/monitoring/templates.ts';

const S = 1000;
const M = 60 * S;
const promtool = spawnSync('promtool', ['--version']).status === 0;
const FIXTURES = join(import.meta.dirname, '..', '..', 'fixtures', 'alert-rules');

function ruleFrom(yaml: string): AlertingRule {
  const [rule] = parseRuleFile(yaml, 'test.yml');
  if (!rule) throw new Error('no rule');
  return new AlertingRule(rule);
}

const errors = (value: number, instance = 'p1'): Sample => ({ labels: { __name__: 'errors', instance }, value });

/** Feeds snapshots at each instant of `at` and returns every transition, as "to@seconds". */
function drive(rule: AlertingRule, steps: [number, Sample[]][]): string[] {
  const store = new SeriesStore(60 * M);
  const seen: string[] = [];
  for (const [t, samples] of steps) {
    store.record(t, samples);
    for (const transition of rule.evaluate(store, t)) seen.push(`${transition.to}@${t / S}`);
  }
  return seen;
}

describe('alert states with a fake clock', () => {
  const yaml = (extra: string) => `groups:\n  - name: g\n    rules:\n      - alert: Errors\n        expr: errors > 5\n${extra}`;

  it('without for: pending and firing in the same evaluation, resolved when the condition goes', () => {
    const rule = ruleFrom(yaml(''));
    expect(
      drive(rule, [
        [0, [errors(1)]],
        [15 * S, [errors(9)]],
        [30 * S, [errors(9)]],
        [45 * S, [errors(1)]],
      ]),
    ).toEqual(['pending@15', 'firing@15', 'resolved@45']);
  });

  it('for: pending until the condition has held that long; a pending alert that goes away is dropped, not resolved', () => {
    const rule = ruleFrom(yaml('        for: 30s\n'));
    const high = [errors(9)];
    expect(
      drive(rule, [
        [0, high],
        [15 * S, [errors(1)]],
        [30 * S, high],
        [45 * S, high],
        [60 * S, high],
        [75 * S, [errors(1)]],
      ]),
    ).toEqual(['pending@0', 'inactive@15', 'pending@30', 'firing@60', 'resolved@75']);
    expect(rule.state).toBe('inactive');
  });

  it('keep_firing_for: stays firing that long after the condition goes, and resets when it returns', () => {
    const rule = ruleFrom(yaml('        keep_firing_for: 30s\n'));
    const low = [errors(1)];
    expect(
      drive(rule, [
        [0, [errors(9)]],
        [15 * S, low], // keepFiringSince = 15
        [30 * S, [errors(9)]], // back: reset
        [45 * S, low], // keepFiringSince = 45
        [60 * S, low],
        [75 * S, low], // 75 - 45 = 30, not < 30: resolved
      ]),
    ).toEqual(['pending@0', 'firing@0', 'resolved@75']);
  });

  it('keeps a resolved alert for the retention period, then forgets it; a new result starts a new alert', () => {
    const rule = ruleFrom(yaml(''));
    const store = new SeriesStore(60 * M);
    store.record(0, [errors(9)]);
    rule.evaluate(store, 0);
    store.record(15 * S, []);
    rule.evaluate(store, 15 * S);
    expect(rule.alerts()).toMatchObject([{ state: 'inactive', resolvedAt: 15 * S, firedAt: 0 }]);
    store.record(15 * S + RESOLVED_RETENTION_MS + 1, []);
    rule.evaluate(store, 15 * S + RESOLVED_RETENTION_MS + 1);
    expect(rule.alerts()).toEqual([]);
    const t = 20 * M;
    store.record(t, [errors(9)]);
    expect(rule.evaluate(store, t).map((change) => change.to)).toEqual(['pending', 'firing']);
  });

  it('tracks one alert per label set, with labels and annotations templated', () => {
    const rule = ruleFrom(
      `groups:
  - name: g
    rules:
      - alert: Errors
        expr: errors > 5
        labels:
          severity: page
          where: "on {{ $labels.instance }}"
        annotations:
          summary: "{{ $labels.instance }} has {{ $value }} errors"
`,
    );
    const store = new SeriesStore(60 * M);
    store.record(0, [errors(9, 'p1'), errors(7, 'p2'), errors(1, 'p3')]);
    const transitions: Transition[] = rule.evaluate(store, 0);
    const firing = transitions.filter((change) => change.to === 'firing');
    expect(firing.map((change) => change.labels)).toEqual([
      { instance: 'p1', severity: 'page', where: 'on p1', alertname: 'Errors' },
      { instance: 'p2', severity: 'page', where: 'on p2', alertname: 'Errors' },
    ]);
    expect(firing[0]?.annotations).toEqual({ summary: 'p1 has 9 errors' });
    expect(rule.state).toBe('firing');
    // Values and annotations follow the latest evaluation without a transition.
    store.record(15 * S, [errors(12, 'p1'), errors(7, 'p2')]);
    expect(rule.evaluate(store, 15 * S)).toEqual([]);
    expect(rule.alerts().find((alert) => alert.labels.instance === 'p1')).toMatchObject({
      value: 12,
      annotations: { summary: 'p1 has 12 errors' },
    });
    expect(rule.lastEvaluation).toMatchObject({ at: 15 * S });
  });

  it('reports a result whose samples collide on labels as an evaluation error', () => {
    const rule = ruleFrom(
      `groups:\n  - name: g\n    rules:\n      - alert: Twice\n        expr: errors > 5\n        labels:\n          instance: same\n`,
    );
    const store = new SeriesStore(60 * M);
    store.record(0, [errors(9, 'p1'), errors(9, 'p2')]);
    expect(rule.evaluate(store, 0)).toEqual([]);
    expect(rule.lastEvaluation?.error).toMatch(/same labels/);
  });
});

describe('templates', () => {
  it('expands $labels, $value and humanizePercentage as Go templates print them', () => {
    expect(expandTemplate('{{ $labels.a }}/{{$labels.missing}}/{{ $value }}', { a: 'x' }, 0.25)).toBe('x//0.25');
    expect(expandTemplate('{{ $value | humanizePercentage }}', {}, 0.0512)).toBe('5.12%');
    expect(expandTemplate('{{ $value | humanizePercentage }}', {}, 0.5)).toBe('50%');
    expect(expandTemplate('{{ $value | humanizePercentage }}', {}, 123)).toBe('1.23e+04%');
    expect([1e-5, 1e21, 3, 1 / 3, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY].map(goFloat)).toEqual([
      '1e-05',
      '1e+21',
      '3',
      '0.3333333333333333',
      'NaN',
      '+Inf',
      '-Inf',
    ]);
  });

  it('refuses actions outside the subset', () => {
    expect(checkTemplate('plain text')).toBeUndefined();
    expect(checkTemplate('{{ $labels.a }} {{ $value }}')).toBeUndefined();
    expect(checkTemplate('{{ range $labels }}x{{ end }}')).toMatch(/outside the supported template subset/);
    expect(checkTemplate('{{ $value | humanize }}')).toMatch(/outside/);
    expect(checkTemplate('{{ $value ')).toMatch(/unclosed/);
  });
});

describe('rule files', () => {
  it('loads the built-in rules, then ALERT_RULES_FILE', () => {
    const builtin = loadRules(BUILTIN_RULES_FILE, undefined);
    expect(builtin.map((rule) => rule.name)).toEqual(
      expect.arrayContaining([
        'HighErrorRate',
        'HighLatencyP95',
        'ReadinessComponentDown',
        'JobsFailing',
        'JobsDeadLettered',
        'LoginFailureSpike',
        'WebSocketSlowConsumerDrops',
      ]),
    );
    const withExtra = loadRules(BUILTIN_RULES_FILE, join(FIXTURES, 'valid.yml'));
    expect(withExtra.length).toBeGreaterThan(builtin.length);
    expect(withExtra.at(-1)).toMatchObject({ group: 'test', forMs: 30 * S, keepFiringForMs: M });
  });

  it('stops start-up naming the file, line, rule and position of a problem', () => {
    const problem = (text: string) => {
      try {
        parseRuleFile(text, 'extra.yml');
      } catch (error) {
        if (error instanceof RuleFileError) return error.message;
        throw error;
      }
      return 'loaded';
    };
    const rule = (body: string) => `groups:\n  - name: g\n    rules:\n      - alert: Bad\n${body}`;
    expect(problem(rule('        expr: irate(x[5m]) > 1\n'))).toBe(
      'extra.yml:4: group "g", alert rule "Bad": expr: the function "irate" is outside the supported PromQL subset (at position 1): irate(x[5m]) > 1',
    );
    expect(problem(rule('        expr: sum(x\n'))).toMatch(/^extra.yml:4: .*"Bad": expr: syntax error \(at position 6\)/);
    expect(problem(rule('        expr: x\n        for: soon\n'))).toMatch(/"for" must be a duration/);
    expect(problem(rule('        expr: x\n        keep_firing_for: 5\n'))).toMatch(/"keep_firing_for" must be a duration/);
    expect(problem(rule('        expr: x\n        severity: high\n'))).toMatch(/unknown field "severity"/);
    expect(problem(rule('        expr: "1"\n'))).toMatch(/instant vector/);
    expect(problem(rule('        expr: x\n        annotations:\n          a: "{{ .Foo }}"\n'))).toMatch(/template of "a"/);
    expect(problem(rule('        expr: x\n        labels:\n          bad-name: x\n'))).toMatch(/invalid name "bad-name"/);
    expect(problem(rule('        expr: x\n        labels: [1]\n'))).toMatch(/labels must be a mapping/);
    expect(problem(rule('        expr: x\n        labels:\n          a: [1]\n'))).toMatch(/labels.a must be a string/);
    expect(problem(rule('        expr: ""\n'))).toMatch(/"expr" must be a PromQL expression/);
    expect(problem('groups:\n  - name: g\n    rules:\n      - record: x\n        expr: y\n')).toMatch(/recording rules are not supported/);
    expect(problem('groups:\n  - name: g\n    rules:\n      - alert: "a b"\n        expr: y\n')).toMatch(/valid metric name/);
    expect(problem('groups:\n  - name: g\n    rules:\n      - 3\n')).toMatch(/"rule 1": must be a mapping/);
    expect(problem('groups: [\n')).toMatch(/^extra.yml:\d+:\d+: /);
    expect(problem('rules: []\n')).toMatch(/needs a "groups" list/);
    expect(problem('groups:\n  - rules: []\n')).toMatch(/group 1 needs a name/);
    expect(problem('groups:\n  - name: g\n')).toMatch(/needs a "rules" list/);
    expect(problem('groups:\n  - name: g\n    rules: []\n  - name: g\n    rules: []\n')).toMatch(/appears twice/);
    expect(() => loadRules(BUILTIN_RULES_FILE, join(tmpdir(), 'no-such-rules.yml'))).toThrow(/no such rule file/);
  });

  it.skipIf(!promtool)('promtool check rules passes on the built-in and test rule files (skipped without promtool)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'rampart-rules-'));
    const generated = join(dir, 'each-function.yml');
    writeFileSync(
      generated,
      `groups:\n  - name: functions\n    rules:\n${[
        'rate(x[5m]) > 1',
        'increase(x[5m]) > 1',
        'avg_over_time(x[5m]) > 1',
        'max_over_time(x[5m]) > 1',
        'sum by (a) (x) / count without (b) (x) >= bool 0.5',
        'histogram_quantile(0.9, sum by (le) (rate(h_bucket[5m]))) > 2',
        'avg(x) - min(x) + max(x) * 2 ^ 2 % 3 != 0',
      ]
        .map((expr, i) => `      - alert: F${i}\n        expr: ${JSON.stringify(expr)}\n`)
        .join('')}`,
    );
    for (const file of [BUILTIN_RULES_FILE, join(FIXTURES, 'valid.yml'), generated]) {
      const result = spawnSync('promtool', ['check', 'rules', file], { encoding: 'utf8' });
      expect(result.status, result.stdout + result.stderr).toBe(0);
      expect(parseRuleFile(readFileSync(file, 'utf8'), file).length).toBeGreaterThan(0);
    }
  });
});
