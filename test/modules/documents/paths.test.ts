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
});
