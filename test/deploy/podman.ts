// The deploy tests' podman: this sandbox's settings (vfs storage, runc, cgroupfs, no default
// ulimits) live here, in files the harness writes and points podman at, never in the
// README's instructions for ordinary machines. Also builds the image once per source tree:
// the tag carries a hash of the build context, so every test file (and a rerun on the same
// sources) reuses one build.
import { execFile, spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import lockfile from 'proper-lockfile';

const PROJECT = fileURLToPath(new URL('../..', import.meta.url));
const CONFIG_DIR = join(tmpdir(), 'rampart-podman-harness');

function has(tool: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${tool}`]).status === 0;
}

/** Whether the image tests can run; with CI=true they must, so a missing tool fails them. */
export const podmanReady = (has('podman') && has('debootstrap') && process.getuid?.() === 0) || process.env.CI === 'true';
if (!podmanReady) {
  console.warn(
    '[rampart tests] NOTICE: podman, debootstrap or root is missing: the image tests (test/deploy) are SKIPPED. ' +
      'CI installs them (see .ci/run).',
  );
}

function harnessEnv(): NodeJS.ProcessEnv {
  mkdirSync(CONFIG_DIR, { recursive: true });
  const containersConf = join(CONFIG_DIR, 'containers.conf');
  const storageConf = join(CONFIG_DIR, 'storage.conf');
  // Sandboxes without overlayfs, systemd or settable rlimits: vfs storage, runc under cgroupfs,
  // and no default ulimits (podman's defaults cannot be set here).
  writeFileSync(
    containersConf,
    '[containers]\ndefault_ulimits = []\n\n[engine]\nruntime = "runc"\ncgroup_manager = "cgroupfs"\nevents_logger = "file"\n',
  );
  writeFileSync(storageConf, '[storage]\ndriver = "vfs"\nrunroot = "/run/containers/storage"\ngraphroot = "/var/lib/containers/storage"\n');
  return { ...process.env, CONTAINERS_CONF: containersConf, CONTAINERS_STORAGE_CONF: storageConf };
}

export const podmanEnv = podmanReady ? harnessEnv() : process.env;

export interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

export function podman(args: string[], options: { timeoutMs?: number } = {}): Promise<Result> {
  return new Promise((resolve) => {
    execFile(
      'podman',
      args,
      { env: podmanEnv, maxBuffer: 1 << 28, timeout: options.timeoutMs ?? 300_000, encoding: 'utf8' },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/** Runs podman and returns its stdout, or throws with its stderr. */
export async function podmanOk(args: string[], options: { timeoutMs?: number } = {}): Promise<string> {
  const result = await podman(args, options);
  if (result.code !== 0) throw new Error(`podman ${args.join(' ')} exited ${result.code}: ${result.stderr}${result.stdout}`);
  return result.stdout.trim();
}

/** A hash of what the image is built from: every file git would put in the build context. */
function contextHash(): string {
  const listed = spawnSync('git', ['ls-files', '-co', '--exclude-standard', '-z'], { cwd: PROJECT, encoding: 'utf8' });
  if (listed.status !== 0) throw new Error('the image tests key their build on the git tree: run them in a git checkout');
  const hash = createHash('sha256');
  for (const file of listed.stdout.split('\0').filter(Boolean).sort()) {
    if (/^(deploy|test|bench|\.ci)\//.test(file)) continue; // not in the runtime image
    const full = join(PROJECT, file);
    if (!statSync(full, { throwIfNoEntry: false })?.isFile()) continue;
    hash.update(file).update('\0').update(readFileSync(full)).update('\0');
  }
  return hash.digest('hex').slice(0, 16);
}

export interface BuiltImage {
  ref: string;
  /** How long `npm run image` took, or 0 when a build of the same sources was reused. */
  buildSeconds: number;
}

/** Builds the image with `npm run image` unless this source tree's build exists already. */
export async function ensureImage(): Promise<BuiltImage> {
  const ref = `localhost/rampart:test-${contextHash()}`;
  mkdirSync(CONFIG_DIR, { recursive: true });
  const release = await lockfile.lock(CONFIG_DIR, {
    lockfilePath: join(CONFIG_DIR, 'build.lock'),
    stale: 60_000,
    update: 10_000,
    retries: { retries: 200, minTimeout: 2_000, maxTimeout: 5_000, factor: 1 },
  });
  try {
    if ((await podman(['image', 'exists', ref])).code === 0) return { ref, buildSeconds: 0 };
    const started = Date.now();
    // Asynchronously: the test worker stays responsive to vitest for the minutes this takes.
    const build = await new Promise<{ status: number | null; output: string }>((resolve) => {
      const child = spawn('npm', ['run', 'image'], { cwd: PROJECT, env: podmanEnv, stdio: ['ignore', 'pipe', 'pipe'] });
      let output = '';
      const keep = (chunk: Buffer) => {
        output = (output + chunk.toString('utf8')).slice(-20_000);
      };
      child.stdout.on('data', keep);
      child.stderr.on('data', keep);
      child.on('close', (status) => resolve({ status, output }));
    });
    if (build.status !== 0) throw new Error(`npm run image failed (exit ${build.status}):\n${build.output.slice(-6000)}`);
    const version = (JSON.parse(readFileSync(join(PROJECT, 'package.json'), 'utf8')) as { version: string }).version;
    await podmanOk(['tag', `localhost/rampart:${version}`, ref]);
    // Earlier sources' test builds are of no further use: keep the disk from filling.
    const older = (await podmanOk(['images', '--format', '{{.Repository}}:{{.Tag}}', '--filter', 'reference=localhost/rampart:test-*']))
      .split('\n')
      .filter((tag) => tag !== '' && tag !== ref);
    if (older.length > 0) await podman(['rmi', ...older]);
    const buildSeconds = Math.round((Date.now() - started) / 1000);
    console.log(`[rampart tests] npm run image built ${ref} in ${buildSeconds} s`);
    return { ref, buildSeconds };
  } finally {
    await release();
  }
}

/** Removes containers by name, ignoring ones already gone. */
export async function removeContainers(names: string[]): Promise<void> {
  if (names.length > 0) await podman(['rm', '--force', '--ignore', '--time', '0', ...names]);
}
