// `rampart health`: the image's HEALTHCHECK (no shell or curl in it). Asks /health/live of the
// role this container runs, on that role's own port; the role is --role, or else read from
// the Rampart process's command line in /proc (PID 1 in a container).
import { readdirSync, readFileSync } from 'node:fs';
import type { Config } from '../config.ts';

export type ProbedRole = 'serve' | 'worker' | 'render' | 'migrate';
const ROLES: readonly string[] = ['serve', 'worker', 'render', 'migrate'];

/** The role argument after our entry script in a process's argv, if it is one. */
function roleIn(argv: string[]): ProbedRole | undefined {
  const entry = argv.findIndex((arg) => /(?:rampart\.js|cli\.ts)$/.test(arg));
  const role = entry === -1 ? undefined : argv[entry + 1];
  return role !== undefined && ROLES.includes(role) ? (role as ProbedRole) : undefined;
}

function commandLine(pid: string): string[] {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
  } catch (error) {
    // A process that ended between listing and reading, or a system without /proc.
    if ((error as NodeJS.ErrnoException).code === 'ENOENT' || (error as NodeJS.ErrnoException).code === 'ESRCH') return [];
    throw error;
  }
}

export function detectRole(): ProbedRole | undefined {
  const own = String(process.pid);
  const pids = ['1', ...safeList('/proc').filter((name) => /^\d+$/.test(name) && name !== '1' && name !== own)];
  for (const pid of pids) {
    const role = roleIn(commandLine(pid));
    if (role) return role;
  }
  return undefined;
}

function safeList(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
}

class ProbeFailed extends Error {
  readonly exitMessage = true;
}

export function probeUrl(config: Config, role: ProbedRole): string | undefined {
  const port =
    role === 'serve' ? config.port : role === 'render' ? config.render.port : role === 'worker' ? config.jobs.healthPort : undefined;
  if (role === 'worker' && port === undefined) throw new ProbeFailed('rampart health: the worker has no WORKER_HEALTH_PORT to probe');
  if (port === undefined) return undefined;
  // A wildcard listen address answers on loopback.
  const host =
    config.host === '0.0.0.0' ? '127.0.0.1' : config.host === '::' ? '[::1]' : config.host.includes(':') ? `[${config.host}]` : config.host;
  return `http://${host}:${port}/health/live`;
}

export async function probe(config: Config, role: ProbedRole | undefined): Promise<void> {
  const url = probeUrl(config, role ?? detectRole() ?? 'serve');
  // migrate runs once and exits: there is nothing to probe.
  if (url === undefined) return;
  let status: number;
  try {
    status = (await fetch(url, { signal: AbortSignal.timeout(config.healthCheckTimeoutMs) })).status;
  } catch (error) {
    throw new ProbeFailed(`rampart health: ${url} did not answer: ${(error as Error).message}`);
  }
  if (status !== 200) throw new ProbeFailed(`rampart health: ${url} answered ${status}`);
  console.log(`rampart health: ${url} 200`);
}
