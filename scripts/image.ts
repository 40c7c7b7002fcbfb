// `npm run image`: builds localhost/rampart:<version> with podman where no image registry is
// reachable. The two base images the Dockerfile takes as arguments are made from Debian
// packages first (debootstrap, then `podman import`), so the build needs only Debian's and
// npm's registries. Needs root (debootstrap), podman and debootstrap. Options:
//   --rebuild-bases  build the base images again even when the recipe's tag exists
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const SUITE = 'bookworm';
const MIRROR = process.env.DEBIAN_MIRROR ?? 'http://deb.debian.org/debian';
// npm in the build base runs `npm ci`; the Node beside it is this checkout's pinned one.
const NPM_VERSION = '11.19.1';
// The build stage strips the Node binary (binutils) and fetches from npm over TLS.
const BUILD_PACKAGES = ['binutils', 'ca-certificates'];
// What the runtime base holds: the shared libraries Node and the prebuilt addons link
// against (the recipe of distroless "cc"), minus glibc's gconv charset modules (7 MB; Node
// converts encodings with its own ICU).
const RUNTIME_PACKAGES = ['libc6', 'libgcc-s1', 'libstdc++6'];
const RAMPART_UID = 10001;

const project = process.cwd();
const pkg = JSON.parse(readFileSync(join(project, 'package.json'), 'utf8')) as { version: string; dependencies: Record<string, string> };

function run(command: string, args: string[], options: { input?: Buffer } = {}): string {
  return execFileSync(command, args, { encoding: 'utf8', stdio: ['pipe', 'pipe', 'inherit'], maxBuffer: 1 << 26, ...options }).trim();
}

function runVisible(command: string, args: string[]): void {
  const result = spawnSync(command, args, { stdio: 'inherit' });
  if (result.status !== 0) throw new Error(`${command} ${args.slice(0, 2).join(' ')} failed (exit ${result.status ?? result.signal})`);
}

function imageExists(ref: string): boolean {
  return spawnSync('podman', ['image', 'exists', ref]).status === 0;
}

function requireTools(): void {
  if (process.getuid?.() !== 0) throw new Error('npm run image builds its base images with debootstrap, which needs root');
  for (const tool of ['podman', 'debootstrap']) {
    if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0) {
      throw new Error(`${tool} is not installed (Debian: apt-get install podman runc debootstrap)`);
    }
  }
}

/** podman import of a directory tree, as one layer. */
function importTree(root: string, ref: string): void {
  const tar = join(root, '..', `${ref.replace(/[^a-z0-9]+/gi, '-')}.tar`);
  run('tar', ['--numeric-owner', '-C', root, '-cf', tar, '.']);
  run('podman', ['import', '--change', `LABEL rampart.base.recipe=${ref}`, tar, ref]);
  rmSync(tar);
}

function buildBases(buildRef: string, runtimeRef: string): void {
  const work = mkdtempSync(join(tmpdir(), 'rampart-bases-'));
  try {
    const rootfs = join(work, 'rootfs');
    const started = Date.now();
    runVisible('debootstrap', ['--variant=minbase', `--include=${BUILD_PACKAGES.join(',')}`, SUITE, rootfs, MIRROR]);
    console.log(`image: debootstrap ${SUITE} took ${Math.round((Date.now() - started) / 1000)} s`);

    // The build base: Debian + this checkout's pinned Node + npm, as node:24-bookworm-slim is.
    cpSync(join(project, 'node_modules/node/bin/node'), join(rootfs, 'usr/local/bin/node'));
    const packed = run('npm', ['pack', `npm@${NPM_VERSION}`, '--silent', '--pack-destination', work])
      .split('\n')
      .pop() as string;
    const npmDir = join(rootfs, 'usr/local/lib/node_modules/npm');
    mkdirSync(npmDir, { recursive: true });
    run('tar', ['-xzf', join(work, packed), '-C', npmDir, '--strip-components=1', '--no-same-owner']);
    symlinkSync('../lib/node_modules/npm/bin/npm-cli.js', join(rootfs, 'usr/local/bin/npm'));
    symlinkSync('../lib/node_modules/npm/bin/npx-cli.js', join(rootfs, 'usr/local/bin/npx'));
    rmSync(join(rootfs, 'var/cache/apt/archives'), { recursive: true, force: true });
    rmSync(join(rootfs, 'var/lib/apt/lists'), { recursive: true, force: true });
    mkdirSync(join(rootfs, 'var/lib/apt/lists/partial'), { recursive: true });
    mkdirSync(join(rootfs, 'var/cache/apt/archives/partial'), { recursive: true });

    // The runtime base: the packages' shared libraries and licences, a passwd naming the
    // service's user, and nothing that runs (no shell, no package manager).
    const cc = join(work, 'cc');
    mkdirSync(join(cc, 'etc'), { recursive: true });
    for (const link of ['lib', 'lib64']) symlinkSync(readlinkSync(join(rootfs, link)), join(cc, link));
    const files = RUNTIME_PACKAGES.flatMap((name) =>
      run('dpkg-query', [`--admindir=${join(rootfs, 'var/lib/dpkg')}`, '-L', name]).split('\n'),
    ).filter((path) => (/\.so(\.|$)/.test(path) && !path.includes('/gconv/')) || /^\/usr\/share\/doc\/[^/]+\/copyright$/.test(path));
    // dpkg names some files by their pre-merged-/usr path (/lib/...): each is copied from,
    // and to, where it really is (/usr/lib/...).
    const real = files.map((path) => (existsSync(join(rootfs, path)) && !/^\/lib(64)?\//.test(path) ? path : `/usr${path}`));
    const list = join(work, 'cc-files');
    writeFileSync(list, real.map((path) => `.${path}`).join('\n'));
    run('sh', ['-c', `tar -C "${rootfs}" --no-recursion -cf - -T "${list}" | tar -C "${cc}" -xf -`]);
    cpSync(join(rootfs, 'usr/lib/os-release'), join(cc, 'etc/os-release'));
    writeFileSync(
      join(cc, 'etc/passwd'),
      `root:x:0:0:root:/root:/sbin/nologin\nrampart:x:${RAMPART_UID}:${RAMPART_UID}:rampart:/data:/sbin/nologin\n`,
    );
    writeFileSync(join(cc, 'etc/group'), `root:x:0:\nrampart:x:${RAMPART_UID}:\n`);
    writeFileSync(join(cc, 'etc/nsswitch.conf'), 'passwd: files\ngroup: files\nhosts: files dns\n');
    mkdirSync(join(cc, 'tmp'), { mode: 0o1777 });
    run('chmod', ['1777', join(cc, 'tmp')]);

    importTree(rootfs, buildRef);
    importTree(cc, runtimeRef);
    // Base images of an older recipe are of no further use.
    for (const repo of ['localhost/rampart-build-base', 'localhost/rampart-runtime-base']) {
      const tags = run('podman', ['images', '--format', '{{.Repository}}:{{.Tag}}', '--filter', `reference=${repo}:*`]).split('\n');
      const stale = tags.filter((tag) => tag !== '' && tag !== buildRef && tag !== runtimeRef);
      if (stale.length > 0) spawnSync('podman', ['rmi', ...stale], { stdio: 'ignore' });
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** The repository the image is built from (the OCI source label): git's origin, when there is one. */
function gitSource(): string {
  const origin = spawnSync('git', ['remote', 'get-url', 'origin'], { encoding: 'utf8' });
  // Never a credential in a label: user:token@ is dropped from an https origin.
  return origin.status === 0 && origin.stdout.trim() !== '' ? origin.stdout.trim().replace(/\/\/[^@/]+@/, '//') : 'unknown';
}

function gitRevision(): string {
  const head = spawnSync('git', ['rev-parse', 'HEAD'], { encoding: 'utf8' });
  if (head.status !== 0) return 'unknown';
  const dirty = spawnSync('git', ['status', '--porcelain', '--untracked-files=no'], { encoding: 'utf8' }).stdout.trim() !== '';
  return `${head.stdout.trim()}${dirty ? '-dirty' : ''}`;
}

requireTools();
if (!existsSync(join(project, 'node_modules/node/bin/node'))) throw new Error('run npm ci first: the build base takes its Node from it');
const recipe = createHash('sha256')
  .update(
    JSON.stringify([
      SUITE,
      NPM_VERSION,
      pkg.dependencies.node,
      BUILD_PACKAGES,
      RUNTIME_PACKAGES,
      RAMPART_UID,
      readFileSync(new URL(import.meta.url)),
    ]),
  )
  .digest('hex')
  .slice(0, 12);
const buildRef = `localhost/rampart-build-base:${SUITE}-${recipe}`;
const runtimeRef = `localhost/rampart-runtime-base:${SUITE}-${recipe}`;
if (process.argv.includes('--rebuild-bases') || !imageExists(buildRef) || !imageExists(runtimeRef)) buildBases(buildRef, runtimeRef);

// A TLS-inspecting proxy's CA (NODE_EXTRA_CA_CERTS, or npm's cafile) reaches `npm ci` as a
// build secret; an empty file when there is none.
function extraCaCerts(work: string): string {
  const configured = process.env.NODE_EXTRA_CA_CERTS || spawnSync('npm', ['config', 'get', 'cafile'], { encoding: 'utf8' }).stdout.trim();
  const file = join(work, 'extra-ca-certs.pem');
  writeFileSync(file, configured && configured !== 'null' && existsSync(configured) ? readFileSync(configured) : '');
  return file;
}

const tag = `localhost/rampart:${pkg.version}`;
const secrets = mkdtempSync(join(tmpdir(), 'rampart-image-'));
const started = Date.now();
try {
  runVisible('podman', [
    'build',
    '--secret',
    `id=extra-ca-certs,src=${extraCaCerts(secrets)}`,
    // HEALTHCHECK is a Docker-format field; the OCI format drops it.
    '--format=docker',
    // No per-step cache images: `COPY . .` precedes `npm ci`, so a cache would rarely be reused
    // and would keep over a gigabyte of build-stage layers per build.
    '--layers=false',
    '--network=host',
    '--build-arg',
    `BUILD_BASE=${buildRef}`,
    '--build-arg',
    `RUNTIME_BASE=${runtimeRef}`,
    '--build-arg',
    `VERSION=${pkg.version}`,
    '--build-arg',
    `REVISION=${gitRevision()}`,
    '--build-arg',
    `SOURCE=${gitSource()}`,
    '--tag',
    tag,
    '--file',
    'Dockerfile',
    '.',
  ]);
} finally {
  rmSync(secrets, { recursive: true, force: true });
}
const size = Number(run('podman', ['image', 'inspect', '--format', '{{.Size}}', tag]));
console.log(`image: built ${tag} in ${Math.round((Date.now() - started) / 1000)} s, ${(size / 1e6).toFixed(1)} MB uncompressed`);
