// The subset of Prometheus' alert templates (Go text/template) that rules may use in labels
// and annotations: {{ $labels.name }}, {{ $value }} and {{ $value | humanizePercentage }}.

const ACTION = /\{\{(.*?)\}\}/gs;
const FORMS: { pattern: RegExp; render(match: RegExpExecArray, labels: Record<string, string>, value: number): string }[] = [
  { pattern: /^\s*\$labels\.([a-zA-Z_][a-zA-Z0-9_]*)\s*$/, render: (match, labels) => labels[match[1] as string] ?? '' },
  { pattern: /^\s*\$value\s*$/, render: (_match, _labels, value) => goFloat(value) },
  { pattern: /^\s*\$value\s*\|\s*humanizePercentage\s*$/, render: (_match, _labels, value) => `${goPrecision4(value * 100)}%` },
];

/** How Go prints a float64 with %v: shortest form, exponent below 1e-4 and from 1e21. */
export function goFloat(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (!Number.isFinite(value)) return value > 0 ? '+Inf' : '-Inf';
  const magnitude = Math.abs(value);
  if (value !== 0 && (magnitude < 1e-4 || magnitude >= 1e21)) return goExponent(value.toExponential());
  return String(value);
}

/** Go's %.4g: four significant digits, trailing zeros removed. */
function goPrecision4(value: number): string {
  if (!Number.isFinite(value)) return goFloat(value);
  const exponent = value === 0 ? 0 : Math.floor(Math.log10(Math.abs(value)));
  if (exponent < -4 || exponent >= 4) return goExponent(value.toExponential(3).replace(/\.?0+e/, 'e'));
  return String(Number(value.toPrecision(4)));
}

/** JavaScript writes 1e-5 and 1e+21; Go writes 1e-05 and 1e+21. */
function goExponent(text: string): string {
  return text.replace(/e([+-])(\d)$/, 'e$10$2');
}

/** What is wrong with a template, or undefined when every action is in the subset. */
export function checkTemplate(template: string): string | undefined {
  for (const match of template.matchAll(ACTION)) {
    const body = match[1] as string;
    if (!FORMS.some((form) => form.pattern.test(body))) {
      return `"{{${body}}}" is outside the supported template subset ({{ $labels.name }}, {{ $value }}, {{ $value | humanizePercentage }})`;
    }
  }
  const rest = template.replace(ACTION, '');
  if (rest.includes('{{')) return 'an unclosed {{';
  return undefined;
}

export function expandTemplate(template: string, labels: Record<string, string>, value: number): string {
  return template.replace(ACTION, (_whole, body: string) => {
    for (const form of FORMS) {
      const match = form.pattern.exec(body);
      if (match) return form.render(match, labels, value);
    }
    return '';
  });
}
