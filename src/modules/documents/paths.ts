// Document paths: relative POSIX paths, NFC. Anything that could point outside a
// project (or be read differently by another tool) is refused with PATH_NOT_ALLOWED.
import { AppError } from '../../platform/errors.ts';

export const MAX_PATH_BYTES = 1024;
// How many rounds of percent-decoding we look through (catches %252e%252e = double-encoded "..").
const DECODE_ROUNDS = 3;

function problemIn(candidate: string): string | undefined {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
  if (/[\u0000-\u001f\u007f]/.test(candidate)) return 'contains a control character';
  // Stored as UTF-8, an unpaired surrogate becomes U+FFFD: the file would be read back under another path.
  if (!candidate.isWellFormed()) return 'contains an unpaired surrogate';
  if (candidate.includes('\\')) return 'contains a backslash';
  if (candidate.startsWith('/')) return 'is absolute';
  if (/^[A-Za-z]:/.test(candidate)) return 'starts with a drive letter';
  const segments = candidate.split('/');
  if (segments.some((segment) => segment === '..' || segment === '.')) return 'contains a . or .. segment';
  if (segments.some((segment) => segment === '')) return 'contains an empty segment';
  return undefined;
}

function percentDecoded(value: string): string | undefined {
  try {
    const decoded = decodeURIComponent(value);
    return decoded === value ? undefined : decoded;
  } catch {
    return undefined; // a lone % is just a character
  }
}

/** The normalised form of a client-supplied path, or PATH_NOT_ALLOWED. */
export function normaliseDocumentPath(raw: string): string {
  const path = raw.normalize('NFC');
  const refuse = (why: string) => new AppError('PATH_NOT_ALLOWED', `Path ${why}`, { details: [{ path: 'path', message: why }] });
  if (path.length === 0) throw refuse('is empty');
  if (Buffer.byteLength(path, 'utf8') > MAX_PATH_BYTES) throw refuse(`is longer than ${MAX_PATH_BYTES} bytes`);
  let candidate: string | undefined = path;
  for (let round = 0; candidate !== undefined && round <= DECODE_ROUNDS; round += 1) {
    const problem = problemIn(candidate);
    if (problem) throw refuse(round === 0 ? problem : `${problem} once percent-decoded`);
    candidate = percentDecoded(candidate);
  }
  return path;
}
