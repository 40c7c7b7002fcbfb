// Loads alerting rules in Prometheus' rule-file format (YAML `groups`/`rules`), parsing each
// `expr` and checking its templates; any problem stops start-up with the file, rule and position.
import { readFileSync } from 'node:fs';
import { LineCounter, parseDocument } from 'yaml';
import { parseDuration } from './durations.ts';
import { type Expr, PromqlError, parsePromql, valueType } from './promql.ts';
import { checkTemplate } from './templates.ts';

export interface AlertRule {
  name: string;
  group: string;
  /** The expression as written (reported by the admin API). */
  query: string;
  expr: Expr;
  forMs: number;
  keepFiringForMs: number;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  /** Where it came from: "file:line". */
  source: string;
}

export class RuleFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RuleFileError';
  }
}

const RULE_KEYS = new Set(['alert', 'expr', 'for', 'keep_firing_for', 'labels', 'annotations']);
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function stringMap(value: unknown, what: string, fail: (message: string) => never): Record<string, string> {
  if (value === undefined || value === null) return {};
  if (!isRecord(value)) return fail(`${what} must be a mapping`);
  const out: Record<string, string> = {};
  for (const [key, item] of Object.entries(value)) {
    if (!LABEL_NAME.test(key)) fail(`${what} has an invalid name "${key}"`);
    if (typeof item !== 'string' && typeof item !== 'number' && typeof item !== 'boolean') fail(`${what}.${key} must be a string`);
    out[key] = String(item);
  }
  return out;
}

/** Parses one rule file's text; `file` names it in errors. */
export function parseRuleFile(text: string, file: string): AlertRule[] {
  const lineCounter = new LineCounter();
  const document = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const [problem] = document.errors;
  if (problem) {
    const at = lineCounter.linePos(problem.pos[0]);
    throw new RuleFileError(`${file}:${at.line}:${at.col}: ${problem.message}`);
  }
  const root = document.toJS() as unknown;
  if (!isRecord(root) || !Array.isArray(root.groups)) throw new RuleFileError(`${file}: a rule file needs a "groups" list`);
  const rules: AlertRule[] = [];
  const groupNames = new Set<string>();
  root.groups.forEach((group: unknown, groupIndex: number) => {
    if (!isRecord(group) || typeof group.name !== 'string' || group.name === '') {
      throw new RuleFileError(`${file}: group ${groupIndex + 1} needs a name`);
    }
    if (groupNames.has(group.name)) throw new RuleFileError(`${file}: group "${group.name}" appears twice`);
    groupNames.add(group.name);
    if (!Array.isArray(group.rules)) throw new RuleFileError(`${file}: group "${group.name}" needs a "rules" list`);
    group.rules.forEach((rule: unknown, ruleIndex: number) => {
      const node = document.getIn(['groups', groupIndex, 'rules', ruleIndex], true) as { range?: [number, number] } | undefined;
      const line = node?.range ? lineCounter.linePos(node.range[0]).line : 0;
      rules.push(parseRule(rule, group.name as string, `${file}:${line}`, `rule ${ruleIndex + 1}`));
    });
  });
  return rules;
}

function parseRule(rule: unknown, group: string, source: string, fallbackName: string): AlertRule {
  const name = isRecord(rule) && typeof rule.alert === 'string' ? rule.alert : fallbackName;
  const fail = (message: string): never => {
    throw new RuleFileError(`${source}: group "${group}", alert rule "${name}": ${message}`);
  };
  if (!isRecord(rule)) return fail('must be a mapping');
  if ('record' in rule) return fail('recording rules are not supported (alerting rules only)');
  for (const key of Object.keys(rule)) if (!RULE_KEYS.has(key)) fail(`unknown field "${key}"`);
  if (typeof rule.alert !== 'string' || !LABEL_NAME.test(rule.alert)) fail('"alert" must be a valid metric name');
  if (typeof rule.expr !== 'string' || rule.expr.trim() === '') return fail('"expr" must be a PromQL expression');
  let expr: Expr;
  try {
    expr = parsePromql(rule.expr);
  } catch (error) {
    if (error instanceof PromqlError) return fail(`expr: ${error.message}: ${rule.expr}`);
    throw error;
  }
  if (valueType(expr) !== 'vector') fail('expr must return an instant vector');
  const duration = (key: 'for' | 'keep_firing_for'): number => {
    const raw = rule[key];
    if (raw === undefined || raw === null) return 0;
    const ms = typeof raw === 'string' ? parseDuration(raw) : undefined;
    return ms ?? fail(`"${key}" must be a duration like 5m (got ${JSON.stringify(raw)})`);
  };
  const labels = stringMap(rule.labels, 'labels', fail);
  const annotations = stringMap(rule.annotations, 'annotations', fail);
  for (const [key, template] of [...Object.entries(labels), ...Object.entries(annotations)]) {
    const problem = checkTemplate(template);
    if (problem) fail(`template of "${key}": ${problem}`);
  }
  return {
    name: rule.alert as string,
    group,
    query: rule.expr,
    expr,
    forMs: duration('for'),
    keepFiringForMs: duration('keep_firing_for'),
    labels,
    annotations,
    source,
  };
}

/** The built-in rules, then those of `extraFile` (ALERT_RULES_FILE); alert names must be unique. */
export function loadRules(builtinFile: string, extraFile: string | undefined): AlertRule[] {
  const read = (file: string) => {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new RuleFileError(`${file}: no such rule file`);
      throw error;
    }
    return parseRuleFile(text, file);
  };
  const rules = [...read(builtinFile), ...(extraFile ? read(extraFile) : [])];
  // Rampart keys an alert's state and status by its rule's name, so names are unique (Prometheus allows repeats).
  const seen = new Map<string, AlertRule>();
  for (const rule of rules) {
    const first = seen.get(rule.name);
    if (first) throw new RuleFileError(`${rule.source}: alert rule "${rule.name}" is already defined at ${first.source}`);
    seen.set(rule.name, rule);
  }
  return rules;
}
