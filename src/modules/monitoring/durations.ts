// Prometheus durations ("1h30m", "15s", "0s") to and from milliseconds, as rule files write them.

const UNITS: Record<string, number> = {
  y: 365 * 24 * 3600_000,
  w: 7 * 24 * 3600_000,
  d: 24 * 3600_000,
  h: 3600_000,
  m: 60_000,
  s: 1000,
  ms: 1,
};
const ORDER = ['y', 'w', 'd', 'h', 'm', 's', 'ms'];

/** Milliseconds, or undefined when `text` is not a Prometheus duration (units largest first, each once). */
export function parseDuration(text: string): number | undefined {
  if (text === '0') return 0;
  const parts = [...text.matchAll(/(\d+)(ms|[ywdhms])/g)];
  if (parts.length === 0 || parts.map((part) => part[0]).join('') !== text) return undefined;
  let last = -1;
  let total = 0;
  for (const [, amount, unit] of parts) {
    const at = ORDER.indexOf(unit as string);
    if (at <= last) return undefined;
    last = at;
    total += Number(amount) * (UNITS[unit as string] as number);
  }
  return total;
}

/** The shortest Prometheus spelling of a duration ("5m", "1h30m", "0s"). */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0s';
  let rest = ms;
  let text = '';
  for (const unit of ORDER) {
    const size = UNITS[unit] as number;
    const amount = Math.floor(rest / size);
    if (amount > 0) {
      text += `${amount}${unit}`;
      rest -= amount * size;
    }
  }
  return text;
}
