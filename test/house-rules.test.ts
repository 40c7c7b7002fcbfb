// The house rules of DESIGN.md, checked on every run so they cannot drift.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
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

/** The source files a file imports (relative imports, type-only ones included), as paths under src/. */
function importsOf(file: { path: string; text: string }): string[] {
  return [...file.text.matchAll(/^\s*(?:import|export)\b[^'"]*?from '(\.{1,2}\/[^']+)'/gm)].map((match) =>
    normalize(join(dirname(file.path), match[1] as string)),
  );
}

/** Every cycle of imports, each once, as the files around it. */
function importCycles(): string[][] {
  const graph = new Map(files.map((file) => [file.path, importsOf(file)]));
  const cycles = new Map<string, string[]>();
  const visit = (path: string, trail: string[]) => {
    const at = trail.indexOf(path);
    if (at >= 0) {
      const cycle = trail.slice(at);
      cycles.set([...cycle].sort().join(' '), cycle);
      return;
    }
    if (trail.length > 40) return;
    for (const next of graph.get(path) ?? []) visit(next, [...trail, path]);
  };
  for (const path of graph.keys()) visit(path, []);
  return [...cycles.values()];
}

const TESTS = join(import.meta.dirname);

/**
 * The catch blocks allowed to neither rethrow nor narrow the error's type, each for a reason:
 * a failure of any kind means the same single outcome there.
 */
const BROAD_CATCHES: Record<string, string> = {
  // @node-rs/argon2 throws plain Errors for a malformed stored hash: that must read as a wrong password, not a 500.
  'modules/auth/passwords.ts': 'return false;',
  // A readiness check that fails in any way is "not ready"; the error is handed to onFailure (logged).
  'platform/health.ts': 'this.#onFailure(item.name, error);',
  // Fastify's content-type parser callback: the error is passed on to done(), Fastify's way of rethrowing.
  'platform/security/json-body.ts': 'done(error as AppError, undefined);',
  // A socket's handlers are a boundary like the HTTP error handler: the error is mapped once
  // (logged, and an error op for the client); rethrowing from a socket event ends the process.
  'platform/realtime/gateway.ts': 'reportFailure(error, ',
};

/** Every `catch` block of a source file (its body), with the line it starts on. */
function catchBlocks(text: string): { line: number; body: string }[] {
  return [...text.matchAll(/\bcatch\s*(?:\([^)]*\))?\s*\{/g)].map((match) => {
    let depth = 1;
    let at = (match.index as number) + match[0].length;
    while (depth > 0 && at < text.length) {
      if (text[at] === '{') depth += 1;
      else if (text[at] === '}') depth -= 1;
      at += 1;
    }
    return { line: text.slice(0, match.index).split('\n').length, body: text.slice((match.index as number) + match[0].length, at - 1) };
  });
}

describe('house rules', () => {
  it('has every source and test file say its one job in its first line, a comment', () => {
    const silent = [
      ...files.map((file) => ({ path: `src/${file.path}`, text: file.text })),
      ...sourceFiles(TESTS).map((path) => ({ path: `test/${relative(TESTS, path)}`, text: readFileSync(path, 'utf8') })),
    ]
      .filter((file) => !file.text.startsWith('// '))
      .map((file) => file.path);
    expect(silent).toEqual([]);
  });

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

  it('never lets a module import app.ts or a role (modules are values the roles run)', () => {
    const offenders = files.filter(
      (file) => file.path.startsWith('modules/') && importsOf(file).some((target) => target === 'app.ts' || target.startsWith('roles/')),
    );
    expect(offenders.map((file) => file.path)).toEqual([]);
  });

  it('has no import cycles (no two files import each other, directly or around a loop)', () => {
    expect(importCycles()).toEqual([]);
  });

  it('has every catch block rethrow or narrow to the error types it handles (outside a short documented allowlist)', () => {
    const offenders = files.flatMap((file) =>
      catchBlocks(file.text)
        .filter(({ body }) => !/\bthrow\b|\binstanceof\b|\.code\b/.test(body))
        .filter(({ body }) => !(BROAD_CATCHES[file.path] !== undefined && body.includes(BROAD_CATCHES[file.path] as string)))
        .map(({ line }) => `${file.path}:${line}`),
    );
    expect(offenders).toEqual([]);
    // The checker sees catch blocks at all (it would pass vacuously otherwise).
    expect(files.flatMap((file) => catchBlocks(file.text)).length).toBeGreaterThan(20);
  });

  it('finds the imports it checks (the two rules above would pass vacuously otherwise)', () => {
    const serve = files.find((file) => file.path === 'roles/serve.ts');
    expect(serve && importsOf(serve)).toEqual(expect.arrayContaining(['app.ts', 'modules/index.ts', 'roles/module-parts.ts']));
  });
});
