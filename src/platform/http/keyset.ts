// Keyset pagination: a page is `limit` rows fetched as `limit + 1` (the extra row says
// whether there is more), and the cursor is the sort key of the page's last row, opaque
// to clients (base64url JSON) and checked completely on the way back in, since it reaches
// SQL: a value Postgres would refuse must be a 400 here, not a database error later.
import { invalidCursorError } from '../errors.ts';
import { isStorableText } from './text.ts';

export function encodeCursor(key: string[]): string {
  return Buffer.from(JSON.stringify(key)).toString('base64url');
}

/**
 * The key inside a cursor this API issued, or 400 VALIDATION_FAILED; `valid` checks each
 * part, and every part must also pass the text rule whatever its own check says.
 */
export function decodeCursor(cursor: string, valid: ((part: string) => boolean)[]): string[] {
  let key: unknown;
  try {
    key = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw invalidCursorError();
  }
  const isValidPart = (part: unknown, i: number) => typeof part === 'string' && isStorableText(part) && valid[i]?.(part) === true;
  if (!Array.isArray(key) || key.length !== valid.length || !key.every(isValidPart)) throw invalidCursorError();
  return key as string[];
}

/** Splits `limit + 1` fetched rows into the page and the cursor of the next one. */
export function keysetPage<Row>(rows: Row[], limit: number, keyOf: (row: Row) => string[]): { page: Row[]; nextCursor: string | null } {
  const page = rows.slice(0, limit);
  const last = page.at(-1);
  return { page, nextCursor: rows.length > limit && last !== undefined ? encodeCursor(keyOf(last)) : null };
}

const TIMESTAMP_TEXT = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})(?:\.\d{1,6})?[+-](\d{2})(?::(\d{2}))?$/;
const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/**
 * A Postgres `timestamptz::text` value, as keyset positions carry it (microseconds kept),
 * naming a real instant: the shape alone lets through month 13, year 0 or offset +99,
 * which Postgres refuses (22008/22009) when the cursor is compared.
 */
export function isTimestampText(part: string): boolean {
  const match = TIMESTAMP_TEXT.exec(part);
  if (!match) return false;
  type Fields = [number, number, number, number, number, number, number, number];
  const [year, month, day, hour, minute, second, offsetHours, offsetMinutes] = match.slice(1).map((field) => Number(field ?? 0)) as Fields;
  if (year < 1 || month < 1 || month > 12) return false;
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  const days = month === 2 && leap ? 29 : (DAYS_IN_MONTH[month - 1] as number);
  // Postgres reads 24:00:00 and :60 seconds as the next instant but never writes them, so no cursor holds them.
  return day >= 1 && day <= days && hour < 24 && minute < 60 && second < 60 && offsetHours <= 15 && offsetMinutes < 60;
}

export const isUuid = (part: string) => /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(part);
