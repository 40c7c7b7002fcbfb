// The parts of the modules a role runs besides routes: job definitions and readiness
// checks (every role that enqueues or runs jobs), and loops (only where jobs run).
import type { Logger } from 'pino';
import type { Module } from '../platform/module.ts';
import type { Platform } from '../platform/platform.ts';

/** Defines every module's job types and adds its readiness checks; before `platform.startJobs`. */
function attachModules(platform: Platform, modules: Module[]): void {
  for (const module of modules) {
    for (const job of module.jobs ?? []) platform.jobs.define(job);
    for (const check of module.readiness ?? []) platform.readiness.register(check);
  }
}

/**
 * What every role that runs modules does on a started platform: define their jobs and
 * readiness, start the job queue, and with `work` run the handlers and the loops. The
 * result stops the loops (the caller stops the platform).
 */
export async function startModules(platform: Platform, modules: Module[], role: string, work: boolean): Promise<() => Promise<void>> {
  attachModules(platform, modules);
  await platform.startJobs(role, work);
  return work ? startLoops(modules, platform.logger) : async () => {};
}

/** Starts every module's loops; the result stops them, in reverse order. */
async function startLoops(modules: Module[], logger: Logger): Promise<() => Promise<void>> {
  const started: { module: string; name: string; stop(): Promise<void> }[] = [];
  const stopAll = async () => {
    for (const loop of started.reverse()) {
      await loop
        .stop()
        .catch((error: unknown) => logger.warn({ err: error, module: loop.module, loop: loop.name }, 'loop did not stop cleanly'));
    }
  };
  try {
    for (const module of modules) {
      for (const loop of module.loops ?? []) {
        await loop.start();
        started.push({ module: module.name, name: loop.name, stop: () => loop.stop() });
        logger.info({ module: module.name, loop: loop.name }, 'loop started');
      }
    }
  } catch (error) {
    await stopAll(); // the ones that did start
    throw error;
  }
  return stopAll;
}
