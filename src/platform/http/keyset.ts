// Keyset pagination: a page is `limit` rows fetched as `limit + 1` (the extra row says
// whether there is more), and the cursor is the sort key of the page's last row, opaque
// to clients (base64url JSON) and checked on the way back in, since it reaches SQL.
import { invalidCursorError } from '../errors.ts';

export function encodeCursor(key: string[]): string {
  return Buffer.from(JSON.stringify(key)).toString('base64url');
}

/** The key inside a cursor this API issued, or 400 VALIDATION_FAILED; `valid` checks each part. */
export function decodeCursor(cursor: string, valid: ((part: string) => boolean)[]): string[] {
  let key: unknown;
  try {
    key = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw invalidCursorError();
  }
  if (!Array.isArray(key) || key.length !== valid.length || key.some((part, i) => typeof part !== 'string' || !valid[i]?.(part))) {
    throw invalidCursorError();
  }
  return key as string[];
}

/** Splits `limit + 1` fetched rows into the page and the cursor of the next one. */
export function keysetPage<Row>(rows: Row[], limit: number, keyOf: (row: Row) => string[]): { page: Row[]; nextCursor: string | null } {
  const page = rows.slice(0, limit);
  const last = page.at(-1);
  return { page, nextCursor: rows.length > limit && last !== undefined ? encodeCursor(keyOf(last)) : null };
}

/** A Postgres `timestamptz::text` value, as keyset positions carry it (microseconds kept). */
export const isTimestampText = (part: string) => /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(\.\d{1,6})?[+-]\d{2}(:\d{2})?$/.test(part);
export const isUuid = (part: string) => /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(part);
