// Document paths: relative POSIX paths, NFC. Anything that could point outside a
// project (or be read differently by another tool) is refused with PATH_NOT_ALLOWED,
// look-alikes of the path syntax included (see lookAlikeIn).
import unhomoglyph from 'unhomoglyph';
import { AppError } from '../../platform/errors.ts';

export const MAX_PATH_BYTES = 1024;
// How many rounds of percent-decoding we look through (catches %252e%252e = double-encoded "..").
const DECODE_ROUNDS = 3;

// The characters that give a path its structure, on POSIX and on Windows.
const PATH_SYNTAX = /[./\\:]/;
// Windows' "best fit" conversion to the East Asian ANSI code pages writes these as 0x5C,
// the backslash (cp932 for the yen sign, cp949 for the won sign): a tool that converts a
// path with them reads a separator. (The other best-fit look-alikes of . / \ : are fullwidth
// or compatibility forms, or symbols in Unicode's confusables table: both rules below catch them.)
const BEST_FIT_SEPARATORS = new Set(['\u00a5', '\u20a9']);
// Letters, digits and marks of every script stay allowed, though Unicode's confusables
// table likens a few to a slash or a dot (Katakana ノ, Arabic-Indic zero): those are words.
const WORD_CHARACTER = /[\p{L}\p{N}\p{M}]/u;
const lookAlikeCache = new Map<string, boolean>();

function isLookAlike(char: string): boolean {
  let known = lookAlikeCache.get(char);
  if (known === undefined) {
    const compatible = char.normalize('NFKC');
    known =
      (compatible !== char && PATH_SYNTAX.test(compatible)) ||
      BEST_FIT_SEPARATORS.has(char) ||
      (!WORD_CHARACTER.test(char) && PATH_SYNTAX.test(unhomoglyph(char)));
    // Bounded by the characters that can occur at all; in practice a few hundred.
    if (lookAlikeCache.size < 10_000) lookAlikeCache.set(char, known);
  }
  return known;
}

/**
 * A non-ASCII character that another reader of the path would take for `.`, `/`, `\` or
 * `:`: one that NFKC turns into them (the two-dot leader, fullwidth solidus), one Windows'
 * best-fit mapping turns into them, or a symbol that Unicode's confusables table (TR39,
 * through unhomoglyph) maps onto them (the division slash, the ratio sign).
 */
function lookAlikeIn(candidate: string): string | undefined {
  for (const char of candidate) {
    if (char.charCodeAt(0) < 0x80) continue;
    if (isLookAlike(char)) {
      const codePoint = `U+${(char.codePointAt(0) as number).toString(16).toUpperCase().padStart(4, '0')}`;
      return `contains ${codePoint}, a look-alike of path syntax (. / \\ :)`;
    }
  }
  return undefined;
}

function problemIn(candidate: string): string | undefined {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
  if (/[\u0000-\u001f\u007f]/.test(candidate)) return 'contains a control character';
  // Stored as UTF-8, an unpaired surrogate becomes U+FFFD: the file would be read back under another path.
  if (!candidate.isWellFormed()) return 'contains an unpaired surrogate';
  const lookAlike = lookAlikeIn(candidate);
  if (lookAlike) return lookAlike;
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
  } catch (error) {
    if (error instanceof URIError) return undefined; // a lone % is just a character
    throw error;
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
