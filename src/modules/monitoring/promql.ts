// Parses an alert rule's `expr` with Prometheus' own PromQL grammar (@prometheus-io/lezer-promql)
// into the supported subset's syntax tree; anything malformed or outside the subset is an
// error naming its position.

import type { SyntaxNode } from '@lezer/common';
import { parser } from '@prometheus-io/lezer-promql';
import { parseDuration } from './durations.ts';

export type MatchOp = '=' | '!=' | '=~' | '!~';
export interface Matcher {
  name: string;
  op: MatchOp;
  value: string;
  /** Anchored, as Prometheus anchors label regexes. */
  regex?: RegExp;
}
export interface Selector {
  kind: 'selector';
  matchers: Matcher[];
}
export type RangeFunction = 'rate' | 'increase' | 'avg_over_time' | 'max_over_time';
export type AggregateOp = 'sum' | 'avg' | 'max' | 'min' | 'count';
export type BinaryOp = '+' | '-' | '*' | '/' | '%' | '^' | '==' | '!=' | '>' | '<' | '>=' | '<=';
export type Expr =
  | { kind: 'number'; value: number }
  | Selector
  | { kind: 'range'; fn: RangeFunction; selector: Selector; rangeMs: number }
  | { kind: 'aggregate'; op: AggregateOp; grouping?: { without: boolean; labels: string[] }; expr: Expr }
  | { kind: 'histogram_quantile'; quantile: Expr; expr: Expr }
  | { kind: 'binary'; op: BinaryOp; bool: boolean; left: Expr; right: Expr }
  | { kind: 'negate'; expr: Expr };

export const COMPARISONS: ReadonlySet<string> = new Set(['==', '!=', '>', '<', '>=', '<=']);
const RANGE_FUNCTIONS: ReadonlySet<string> = new Set(['rate', 'increase', 'avg_over_time', 'max_over_time']);
const AGGREGATES: ReadonlySet<string> = new Set(['sum', 'avg', 'max', 'min', 'count']);
const BINARY_OPS: ReadonlySet<string> = new Set(['+', '-', '*', '/', '%', '^', ...COMPARISONS]);

/** A malformed expression, or one outside the subset; `position` is 1-based within the expression. */
export class PromqlError extends Error {
  readonly position: number;
  constructor(message: string, position: number) {
    super(`${message} (at position ${position})`);
    this.name = 'PromqlError';
    this.position = position;
  }
}

export function valueType(expr: Expr): 'scalar' | 'vector' {
  switch (expr.kind) {
    case 'number':
      return 'scalar';
    case 'negate':
      return valueType(expr.expr);
    case 'binary':
      return valueType(expr.left) === 'scalar' && valueType(expr.right) === 'scalar' ? 'scalar' : 'vector';
    default:
      return 'vector';
  }
}

export function parsePromql(text: string): Expr {
  const tree = parser.parse(text);
  const cursor = tree.cursor();
  do {
    if (cursor.type.isError) throw new PromqlError('syntax error', cursor.from + 1);
  } while (cursor.next());
  const top = tree.topNode.firstChild;
  if (!top) throw new PromqlError('empty expression', 1);
  return new Reader(text).expr(top);
}

function children(node: SyntaxNode): SyntaxNode[] {
  const list: SyntaxNode[] = [];
  for (let child = node.firstChild; child; child = child.nextSibling) list.push(child);
  return list;
}

/** A Go string literal as PromQL writes them: "double" or 'single' with escapes, or `raw`. */
function stringValue(raw: string): string {
  if (raw.startsWith('`')) return raw.slice(1, -1);
  const body = raw.slice(1, -1);
  return body.replace(/\\(u[0-9a-fA-F]{4}|x[0-9a-fA-F]{2}|[0-7]{3}|.)/g, (_match, sequence: string) => {
    if (sequence.startsWith('u') || sequence.startsWith('x')) return String.fromCodePoint(Number.parseInt(sequence.slice(1), 16));
    if (/^[0-7]{3}$/.test(sequence)) return String.fromCodePoint(Number.parseInt(sequence, 8));
    const simple: Record<string, string> = { n: '\n', t: '\t', r: '\r', a: '\x07', b: '\b', f: '\f', v: '\v' };
    return simple[sequence] ?? sequence;
  });
}

class Reader {
  readonly #text: string;
  constructor(text: string) {
    this.#text = text;
  }

  #source(node: SyntaxNode): string {
    return this.#text.slice(node.from, node.to);
  }

  #unsupported(node: SyntaxNode, what?: string): never {
    throw new PromqlError(`${what ?? `"${this.#source(node)}"`} is outside the supported PromQL subset`, node.from + 1);
  }

  expr(node: SyntaxNode): Expr {
    switch (node.name) {
      case 'NumberDurationLiteral':
        return { kind: 'number', value: this.#number(node) };
      case 'ParenExpr': {
        const inner = node.firstChild;
        if (!inner) this.#unsupported(node);
        return this.expr(inner);
      }
      case 'UnaryExpr': {
        const [op, operand] = children(node);
        if (!op || !operand) this.#unsupported(node);
        const inner = this.expr(operand);
        return this.#source(op) === '-' ? { kind: 'negate', expr: inner } : inner;
      }
      case 'VectorSelector':
        return this.#selector(node);
      case 'AggregateExpr':
        return this.#aggregate(node);
      case 'FunctionCall':
        return this.#call(node);
      case 'BinaryExpr':
        return this.#binary(node);
      case 'MatrixSelector':
        return this.#unsupported(node, 'a range selector outside rate, increase, avg_over_time or max_over_time');
      default:
        return this.#unsupported(node);
    }
  }

  #number(node: SyntaxNode): number {
    const raw = this.#source(node).toLowerCase();
    const value = raw === 'inf' || raw === '+inf' ? Number.POSITIVE_INFINITY : raw === 'nan' ? Number.NaN : Number(raw);
    if (Number.isNaN(value) && raw !== 'nan') this.#unsupported(node, `the number "${raw}"`);
    return value;
  }

  #selector(node: SyntaxNode): Selector {
    const matchers: Matcher[] = [];
    for (const child of children(node)) {
      if (child.name === 'Identifier') matchers.push({ name: '__name__', op: '=', value: this.#source(child) });
      else if (child.name === 'LabelMatchers') {
        for (const matcher of children(child)) matchers.push(this.#matcher(matcher));
      } else this.#unsupported(child);
    }
    if (
      !matchers.some((matcher) =>
        matcher.op === '=' ? matcher.value !== '' : matcher.op === '=~' && !new RegExp(`^(?:${matcher.value})$`).test(''),
      )
    ) {
      throw new PromqlError('a selector needs a metric name or a matcher that does not match the empty string', node.from + 1);
    }
    return { kind: 'selector', matchers };
  }

  #matcher(node: SyntaxNode): Matcher {
    const parts = children(node);
    const name = parts.find((part) => part.name === 'LabelName' || part.name === 'QuotedLabelName');
    const op = parts.find((part) => part.name === 'MatchOp');
    const value = parts.find((part) => part.name === 'StringLiteral');
    if (node.name !== 'UnquotedLabelMatcher' || !name || !op || !value) return this.#unsupported(node);
    const matcher: Matcher = { name: this.#source(name), op: this.#source(op) as MatchOp, value: stringValue(this.#source(value)) };
    if (matcher.op === '=~' || matcher.op === '!~') {
      try {
        matcher.regex = new RegExp(`^(?:${matcher.value})$`, 'su');
      } catch (error) {
        if (error instanceof SyntaxError) throw new PromqlError(`invalid regular expression ${this.#source(value)}`, value.from + 1);
        throw error;
      }
    }
    return matcher;
  }

  #aggregate(node: SyntaxNode): Expr {
    const [opNode, ...rest] = children(node);
    const op = opNode ? this.#source(opNode) : '';
    if (!opNode || !AGGREGATES.has(op)) return this.#unsupported(opNode ?? node, `the aggregation "${op}"`);
    let grouping: { without: boolean; labels: string[] } | undefined;
    let body: SyntaxNode | undefined;
    for (const part of rest) {
      if (part.name === 'AggregateModifier') {
        const [kind, labels] = children(part);
        grouping = {
          without: kind?.name === 'Without',
          labels: labels ? children(labels).map((label) => this.#source(label)) : [],
        };
      } else if (part.name === 'FunctionCallBody') body = part;
      else this.#unsupported(part);
    }
    const args = body ? children(body) : [];
    if (args.length !== 1 || !args[0]) return this.#unsupported(body ?? node, `${op} with ${args.length} arguments`);
    const inner = this.expr(args[0]);
    if (valueType(inner) !== 'vector') throw new PromqlError(`${op} needs an instant vector`, args[0].from + 1);
    return { kind: 'aggregate', op: op as AggregateOp, grouping, expr: inner };
  }

  #call(node: SyntaxNode): Expr {
    const [identifier, body] = children(node);
    const name = identifier ? this.#source(identifier) : '';
    const args = body ? children(body) : [];
    if (name === 'histogram_quantile') {
      const [quantile, buckets] = args;
      if (args.length !== 2 || !quantile || !buckets) return this.#unsupported(node, 'histogram_quantile without two arguments');
      const q = this.expr(quantile);
      const inner = this.expr(buckets);
      if (valueType(q) !== 'scalar') throw new PromqlError('histogram_quantile needs a scalar quantile', quantile.from + 1);
      if (valueType(inner) !== 'vector') throw new PromqlError('histogram_quantile needs an instant vector', buckets.from + 1);
      return { kind: 'histogram_quantile', quantile: q, expr: inner };
    }
    if (!RANGE_FUNCTIONS.has(name)) return this.#unsupported(identifier ?? node, `the function "${name}"`);
    const [matrix] = args;
    if (args.length !== 1 || !matrix || matrix.name !== 'MatrixSelector') {
      throw new PromqlError(`${name} needs one range selector like metric[5m]`, (matrix ?? node).from + 1);
    }
    const [vector, duration] = children(matrix);
    if (vector?.name !== 'VectorSelector' || !duration) return this.#unsupported(matrix);
    const rangeMs = parseDuration(this.#source(duration));
    if (rangeMs === undefined || rangeMs <= 0) throw new PromqlError(`invalid range "${this.#source(duration)}"`, duration.from + 1);
    return { kind: 'range', fn: name as RangeFunction, selector: this.#selector(vector), rangeMs };
  }

  #binary(node: SyntaxNode): Expr {
    const parts = children(node);
    const left = parts[0];
    const right = parts.at(-1);
    const op = parts[1];
    if (!left || !right || !op || parts.length < 3) return this.#unsupported(node);
    let bool = false;
    for (const modifier of parts.slice(2, -1)) {
      if (modifier.name === 'BoolModifier') bool = true;
      else this.#unsupported(modifier, `"${this.#source(modifier)}" (on, ignoring, group_left/right, and, or, unless)`);
    }
    const symbol = this.#source(op);
    if (!BINARY_OPS.has(symbol)) return this.#unsupported(op, `the operator "${symbol}"`);
    const expr: Expr = { kind: 'binary', op: symbol as BinaryOp, bool, left: this.expr(left), right: this.expr(right) };
    if (bool && !COMPARISONS.has(symbol)) throw new PromqlError('bool applies to comparisons only', op.from + 1);
    if (COMPARISONS.has(symbol) && !bool && valueType(expr) === 'scalar') {
      throw new PromqlError('comparisons between scalars must use bool', op.from + 1);
    }
    return expr;
  }
}
