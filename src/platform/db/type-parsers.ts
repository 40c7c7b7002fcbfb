// PGlite and node-postgres disagree on JS types (int8: number|bigint vs string,
// bytea: Uint8Array vs Buffer). Both drivers get these parsers so callers see one shape.
export const OID_INT8 = 20;
export const OID_BYTEA = 17;

/** int8/count(*) as a number when it fits exactly, else the decimal string (never a lossy number). */
export function parseInt8(text: string): number | string {
  const value = Number(text);
  return Number.isSafeInteger(value) ? value : text;
}

/** bytea arrives as hex text (`\x0102`) from the wire protocol. */
export function parseBytea(text: string): Buffer {
  return text.startsWith('\\x') ? Buffer.from(text.slice(2), 'hex') : Buffer.from(text, 'binary');
}
