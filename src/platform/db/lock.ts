// PGlite has no lock of its own: two processes on one data directory lose committed
// rows. The embedded shape therefore holds an exclusive lock on DATA_DIR while it runs.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import lockfile from 'proper-lockfile';

export class DataDirLockedError extends Error {
  constructor(dataDir: string, lockPath: string) {
    super(
      `DATA_DIR ${dataDir} is locked by another Rampart process (lock ${lockPath}). ` +
        'Stop that process, or point DATA_DIR at another directory, or use DATABASE_URL for several processes.',
    );
    this.name = 'DataDirLockedError';
  }
}

export type ReleaseLock = () => Promise<void>;

export async function lockDataDir(dataDir: string, onCompromised: (error: Error) => void): Promise<ReleaseLock> {
  mkdirSync(dataDir, { recursive: true });
  const lockPath = join(dataDir, 'rampart.lock');
  try {
    // `stale` lets a crashed holder's lock expire; `update` keeps a live holder's lock fresh.
    return await lockfile.lock(dataDir, { lockfilePath: lockPath, stale: 10_000, update: 2_000, retries: 0, onCompromised });
  } catch (error) {
    if ((error as { code?: string }).code === 'ELOCKED') throw new DataDirLockedError(dataDir, lockPath);
    throw error;
  }
}
