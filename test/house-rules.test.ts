// The house rules of DESIGN.md, checked on every run so they cannot drift.
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const SRC = join(import.meta.dirname, '..', 'src');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

const files = sourceFiles(SRC).map((path) => ({ path: relative(SRC, path), text: readFileSync(path, 'utf8') }));

describe('house rules', () => {
  it('keeps every source file under 400 lines', () => {
    const long = files.filter((file) => file.text.split('\n').length > 400).map((file) => file.path);
    expect(long).toEqual([]);
  });

  it('never lets platform code import a module', () => {
    const offenders = files.filter((file) => file.path.startsWith('platform/') && /from '(\.\.\/)+modules\//.test(file.text));
    expect(offenders.map((file) => file.path)).toEqual([]);
  });

  it('reads the environment only in config.ts', () => {
    const offenders = files.filter((file) => file.path !== 'config.ts' && /process\.env\b/.test(file.text));
    expect(offenders.map((file) => file.path)).toEqual([]);
  });

  it('never lets a module import another module repo', () => {
    const offenders = files.filter((file) => {
      const own = /^modules\/([^/]+)\//.exec(file.path)?.[1];
      if (!own) return false;
      return [...file.text.matchAll(/from '\.\.\/([^/]+)\/repo\.ts'/g)].some((match) => match[1] !== own);
    });
    expect(offenders.map((file) => file.path)).toEqual([]);
  });
});
