// Turns one setting's text into a typed value, or a ConfigError that names the variable:
// the parsers config.ts builds every setting from (it alone decides which variables exist).

export class ConfigError extends Error {
  readonly variable: string;
  constructor(variable: string, problem: string) {
    super(`Invalid configuration: ${variable} ${problem}`);
    this.name = 'ConfigError';
    this.variable = variable;
  }
}

export type Env = Record<string, string | undefined>;

export function read(env: Env, name: string): string | undefined {
  const value = env[name];
  return value === undefined || value.trim() === '' ? undefined : value.trim();
}

export function integer(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = read(env, name);
  if (raw === undefined) return fallback;
  if (!/^\d+$/.test(raw)) throw new ConfigError(name, `must be a whole number from ${min} to ${max} (got "${raw}")`);
  const value = Number(raw);
  if (value < min || value > max) throw new ConfigError(name, `must be from ${min} to ${max} (got ${value})`);
  return value;
}

export function oneOf<T extends string>(env: Env, name: string, allowed: readonly T[], fallback: T): T {
  const raw = read(env, name);
  if (raw === undefined) return fallback;
  if (!(allowed as readonly string[]).includes(raw)) {
    throw new ConfigError(name, `must be one of ${allowed.join(', ')} (got "${raw}")`);
  }
  return raw as T;
}

export function boolean(env: Env, name: string, fallback: boolean): boolean {
  const raw = read(env, name);
  if (raw === undefined) return fallback;
  if (['true', '1', 'yes'].includes(raw.toLowerCase())) return true;
  if (['false', '0', 'no'].includes(raw.toLowerCase())) return false;
  throw new ConfigError(name, `must be true or false (got "${raw}")`);
}

export function url(env: Env, name: string, protocols: string[]): string | undefined {
  const raw = read(env, name);
  if (raw === undefined) return undefined;
  let parsed: URL;
  try {
    parsed = new URL(raw);
  } catch {
    throw new ConfigError(name, `must be a URL starting with ${protocols.join(' or ')}`);
  }
  if (!protocols.includes(parsed.protocol)) {
    throw new ConfigError(name, `must be a URL starting with ${protocols.join(' or ')} (got ${parsed.protocol})`);
  }
  return raw;
}

const SIZE_UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  kb: 1024,
  kib: 1024,
  mb: 1024 ** 2,
  mib: 1024 ** 2,
  gb: 1024 ** 3,
  gib: 1024 ** 3,
};

export function byteSize(env: Env, name: string, fallback: number, min = 1024): number {
  const raw = read(env, name);
  if (raw === undefined) return fallback;
  const match = /^(\d+)\s*([a-z]*)$/i.exec(raw);
  const unit = match?.[2]?.toLowerCase() ?? '';
  if (!match || !(unit in SIZE_UNITS)) {
    throw new ConfigError(name, `must be a size in bytes, optionally with kb or mb (got "${raw}")`);
  }
  const bytes = Number(match[1]) * (SIZE_UNITS[unit] as number);
  if (bytes < min || bytes > 64 * 1024 ** 3) throw new ConfigError(name, `must be from ${min} bytes to 64gb`);
  return bytes;
}

export function secret(env: Env, name: string, minLength: number): string | undefined {
  const raw = read(env, name);
  if (raw === undefined) return undefined;
  if (raw.length < minLength || /\s/.test(raw)) throw new ConfigError(name, `must be at least ${minLength} characters without spaces`);
  return raw;
}

/** A duration: whole milliseconds, or a number with ms, s, m or h ("15s"). */
export function duration(env: Env, name: string, fallbackMs: number, minMs: number, maxMs: number): number {
  const raw = read(env, name);
  if (raw === undefined) return fallbackMs;
  const match = /^(\d+)(ms|s|m|h)?$/.exec(raw);
  const units: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  if (!match) throw new ConfigError(name, `must be a duration like 15s, 500ms, 2m or 1h (got "${raw}")`);
  const ms = Number(match[1]) * (units[match[2] ?? 'ms'] as number);
  if (ms < minMs || ms > maxMs) throw new ConfigError(name, `must be from ${minMs} ms to ${maxMs} ms (got ${ms} ms)`);
  return ms;
}

/** DATABASE_URL / REDIS_URL with the password removed, for logs. */
export function redactUrl(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const parsed = new URL(value);
  if (parsed.password) parsed.password = '***';
  return parsed.toString();
}

/** A comma-separated list of UUIDs (account ids), lower-cased; empty when unset. */
export function uuidList(env: Env, name: string): string[] {
  const ids = (read(env, name) ?? '')
    .split(',')
    .map((part) => part.trim().toLowerCase())
    .filter(Boolean);
  const bad = ids.find((id) => !/^[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}$/.test(id));
  if (bad) throw new ConfigError(name, `must be comma-separated account ids (UUIDs) (bad entry "${bad}")`);
  return ids;
}
