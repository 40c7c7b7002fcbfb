// The image as built by `npm run image`: within the seed's 180 MB, a numeric non-root user,
// nothing in it that runs besides Node (no shell, package manager or compiler), its labels
// and HEALTHCHECK, and the dependencies it trimmed still load.
import { execFileSync, spawn } from 'node:child_process';
import { createGzip } from 'node:zlib';
import { beforeAll, describe, expect, it } from 'vitest';
import { ensureImage, podman, podmanEnv, podmanOk, podmanReady } from './podman.ts';

const MB = 1_000_000;

describe.runIf(podmanReady)('the container image', () => {
  let ref: string;
  let files: string[];

  beforeAll(async () => {
    ({ ref } = await ensureImage());
    const container = await podmanOk(['create', ref]);
    try {
      const tar = execFileSync('sh', ['-c', `podman export ${container} | tar -t`], {
        env: podmanEnv,
        maxBuffer: 1 << 28,
        encoding: 'utf8',
      });
      files = tar.split('\n').map((path) => path.replace(/^\.?\//, ''));
    } finally {
      await podman(['rm', container]);
    }
  }, 1_800_000);

  it('is at most 180 MB uncompressed (and says what podman save gzips to)', async () => {
    const size = Number(await podmanOk(['image', 'inspect', '--format', '{{.Size}}', ref]));
    const gzipped = await new Promise<number>((resolve, reject) => {
      const save = spawn('podman', ['save', ref], { env: podmanEnv, stdio: ['ignore', 'pipe', 'inherit'] });
      let bytes = 0;
      const gzip = createGzip();
      gzip.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
      });
      gzip.on('end', () => resolve(bytes));
      save.on('error', reject);
      save.stdout.pipe(gzip);
    });
    console.log(
      `[rampart tests] image ${ref}: ${(size / MB).toFixed(1)} MB uncompressed, podman save | gzip ${(gzipped / MB).toFixed(1)} MB`,
    );
    expect(size).toBeGreaterThan(100 * MB); // Node alone is 107 MB: a smaller number means a broken measurement
    expect(size).toBeLessThanOrEqual(180 * MB);
  });

  it('runs as the numeric user 10001:10001, with labels, a HEALTHCHECK and the CLI as entrypoint', async () => {
    const [image] = JSON.parse(await podmanOk(['image', 'inspect', ref])) as {
      Config: { User: string; Entrypoint: string[]; Cmd: string[]; Labels: Record<string, string> };
      Healthcheck?: { Test: string[] };
    }[];
    expect(image?.Config.User).toBe('10001:10001');
    expect(image?.Config.Entrypoint).toEqual(['/usr/local/bin/node', '/app/bin/rampart.js']);
    expect(image?.Config.Cmd).toEqual(['serve']);
    const labels = image?.Config.Labels ?? {};
    expect(labels['org.opencontainers.image.version']).toMatch(/^\d+\.\d+\.\d+/);
    expect(labels['org.opencontainers.image.revision']).toMatch(/^[0-9a-f]{40}/);
    expect(labels['org.opencontainers.image.source']).toBeTruthy();
    expect(image?.Healthcheck?.Test).toEqual(['CMD', '/usr/local/bin/node', '/app/bin/rampart.js', 'health']);
  });

  it('has no shell, package manager or compiler: Node is the only program', () => {
    for (const absent of ['bin/sh', 'usr/bin/sh', 'bin/bash', 'usr/bin/bash', 'usr/bin/apt', 'usr/bin/dpkg', 'usr/bin/gcc', 'usr/bin/cc']) {
      expect(files).not.toContain(absent);
    }
    expect(files.filter((path) => /(^|\/)(npm|npx|yarn|corepack)(-cli\.js)?$/.test(path))).toEqual([]);
    const programs = files.filter((path) => /^(usr\/)?(s?bin|local\/bin)\/./.test(path) || /^usr\/local\/bin\/./.test(path));
    expect(programs).toEqual(['usr/local/bin/node']);
    expect(files).toContain('app/src/cli.ts');
    expect(files).toContain('app/migrations/');
  });

  it('refuses a shell even when asked for one', async () => {
    const result = await podman(['run', '--rm', '--entrypoint', '/bin/sh', ref, '-c', 'true']);
    expect(result.code).not.toBe(0);
  });

  it('loads the dependencies the build trimmed (Sentry without its bundler plugins, Argon2, PGlite with its extensions)', async () => {
    const script = [
      "await import('@sentry/node');",
      "const { hash } = await import('@node-rs/argon2'); await hash('x');",
      "const { PGlite } = await import('@electric-sql/pglite');",
      "const { pg_trgm } = await import('@electric-sql/pglite/contrib/pg_trgm');",
      "const { vector } = await import('@electric-sql/pglite-pgvector');",
      'const db = await PGlite.create({ extensions: { vector, pg_trgm } });',
      "await db.exec('create extension vector; create extension pg_trgm');",
      "console.log('loaded');",
    ].join(' ');
    const out = await podmanOk([
      'run',
      '--rm',
      '--read-only',
      '--tmpfs',
      '/tmp',
      '--entrypoint',
      '/usr/local/bin/node',
      ref,
      '--input-type=module',
      '-e',
      script,
    ]);
    expect(out).toContain('loaded');
  });
});
