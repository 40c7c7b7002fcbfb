// Document path rules: what is refused (traversal, encodings, look-alikes) and what is accepted, with property tests.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { normaliseDocumentPath } from '../../../src/modules/documents/paths.ts';
import { AppError } from '../../../src/platform/errors.ts';

function refused(path: string): boolean {
  try {
    normaliseDocumentPath(path);
    return false;
  } catch (error) {
    if (error instanceof AppError && error.code === 'PATH_NOT_ALLOWED') return true;
    throw error;
  }
}

describe('document paths', () => {
  it.each([
    '../x',
    '..%2Fx',
    '%252e%252e/x',
    '%2e%2e/x',
    '/etc/passwd',
    'C:\\x',
    'c:/x',
    '\\\\server\\share',
    'a/\u0000b',
    'a/\u001bb',
    'a/\ud800b',
    'a/b\udfff',
    'a//b',
    'a/',
    './a',
    'a/./b',
    'a/../../b',
    '%2Fetc%2Fpasswd',
    '',
    'a'.repeat(1025),
  ])('refuses %j', (path) => {
    expect(refused(path)).toBe(true);
  });

  it.each([
    'src/index.ts',
    'README.md',
    'a/b/c/d.go',
    'name with spaces.py',
    '100%.txt',
    'ünïcödé/файл.ts',
    '.github/workflows/ci.yml',
    '..hidden',
    'a..b',
  ])('accepts %j', (path) => {
    expect(normaliseDocumentPath(path)).toBe(path.normalize('NFC'));
  });

  it('normalises to NFC', () => {
    expect(normaliseDocumentPath('cafe\u0301.ts')).toBe('caf\u00e9.ts');
  });

  it('never accepts a path that resolves outside its root, however it is built', () => {
    const hostileSegment = fc.constantFrom('..', '.', '', '%2e%2e', '%252e%252e', '..%2f', '%2f', '\\', 'C:', '\u0000', '%00', '%5c');
    const segment = fc.oneof(hostileSegment, fc.string({ minLength: 1, maxLength: 8 }));
    fc.assert(
      fc.property(fc.array(segment, { minLength: 1, maxLength: 6 }), fc.boolean(), (segments, leadingSlash) => {
        const path = (leadingSlash ? '/' : '') + segments.join('/');
        let accepted: string;
        try {
          accepted = normaliseDocumentPath(path);
        } catch (error) {
          return error instanceof AppError && error.code === 'PATH_NOT_ALLOWED';
        }
        // Whatever is accepted, decoded up to three times, stays a clean relative path.
        let decoded = accepted;
        for (let round = 0; round < 3; round += 1) {
          expect(decoded.startsWith('/')).toBe(false);
          expect(decoded.split('/').some((part) => part === '..' || part === '.' || part === '')).toBe(false);
          // biome-ignore lint/suspicious/noControlCharactersInRegex: asserting there are none
          expect(/[\\\u0000-\u001f]/.test(decoded)).toBe(false);
          try {
            decoded = decodeURIComponent(decoded);
          } catch {
            break;
          }
        }
        return true;
      }),
      { numRuns: 2000 },
    );
  });

  // Look-alikes of path syntax (issue 13): what NFKC, Windows' best-fit mapping or Unicode's
  // confusables table would read as . / \ : is refused, wherever it stands in a path.
  const LOOK_ALIKES = [
    '\u2025', // two dot leader: NFKC ".."
    '\u2024', // one dot leader: NFKC "."
    '\u2026', // ellipsis: NFKC "..."
    '\uff0e', // fullwidth full stop
    '\ufe52', // small full stop
    '\u2215', // division slash
    '\u2044', // fraction slash
    '\uff0f', // fullwidth solidus
    '\u29f8', // big solidus
    '\u2571', // box drawings light diagonal
    '\uff3c', // fullwidth reverse solidus
    '\ufe68', // small reverse solidus
    '\u2216', // set minus
    '\u00a5', // yen sign: best-fit 0x5C in cp932
    '\u20a9', // won sign: best-fit 0x5C in cp949
    '\uff1a', // fullwidth colon
    '\u2236', // ratio
    '\ua789', // modifier letter colon
    '\ufe55', // small colon
  ];

  it.each(['\u2025/x.ts', '..\u2215x.ts', 'src/a\u2025b/..\u2215..\u2215etc', 'C\uff1a\uff3cx', '%E2%80%A5/x.ts'])(
    'refuses the look-alike path %j',
    (path) => {
      expect(refused(path)).toBe(true);
    },
  );

  it('refuses any path with a look-alike of . / \\ : anywhere, and accepts words of every script', () => {
    const wordCharacter = fc.constantFrom(...'abcXYZ019_-éßøçñüжяשׁعربي٠١中文ノート한글ไทย'.split(''));
    const word = fc.array(wordCharacter, { minLength: 1, maxLength: 8 }).map((chars) => chars.join(''));
    const path = fc.array(word, { minLength: 1, maxLength: 5 }).map((segments) => segments.join('/'));
    fc.assert(
      fc.property(path, fc.constantFrom(...LOOK_ALIKES), fc.nat(), (clean, lookAlike, at) => {
        expect(normaliseDocumentPath(clean)).toBe(clean.normalize('NFC'));
        const position = at % (clean.length + 1);
        const hostile = clean.slice(0, position) + lookAlike + clean.slice(position);
        return refused(hostile);
      }),
      { numRuns: 1000 },
    );
  });
});
