// Bytes on disk under UPLOAD_ROOT: document blobs addressed by their SHA-256 (shared by
// every document with those bytes), and uploaded archives, each under an id of its own so
// that no import can touch bytes a document or another import uses. Client paths never
// become file names, so no path can reach outside the root; files are immutable, written
// to a temporary file and renamed, and never followed through symlinks.
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { constants } from 'node:fs';
import { lstat, mkdir, open, readdir, realpath, rename, rm, stat, unlink } from 'node:fs/promises';
import { join, resolve, sep } from 'node:path';

/** A missing file or directory is an answer ("not there"); any other error (EACCES, EIO) is not. */
function unlessMissing<T>(fallback: T): (error: NodeJS.ErrnoException) => T {
  return (error) => {
    if (error.code === 'ENOENT') return fallback;
    throw error;
  };
}

// A temporary file younger than this may be an upload still being written.
const TEMPORARY_FILE_MAX_AGE_MS = 3_600_000;

export function sha256Hex(content: Buffer): string {
  return createHash('sha256').update(content).digest('hex');
}

export class BlobStore {
  readonly #root: string;

  constructor(root: string) {
    this.#root = resolve(root);
  }

  /** Where a blob lives; asserts (defence in depth) that it stays under the root. */
  pathOf(sha256: string): string {
    if (!/^[0-9a-f]{64}$/.test(sha256)) throw new Error('not a sha256');
    const path = resolve(this.#root, 'blobs', sha256.slice(0, 2), sha256);
    if (!path.startsWith(this.#root + sep)) throw new Error('blob path escapes UPLOAD_ROOT');
    return path;
  }

  async #ensureDirectory(path: string): Promise<void> {
    await mkdir(path, { recursive: true });
    // A directory swapped for a symlink would redirect writes: the real path must still be ours.
    const real = await realpath(path);
    const realRoot = await realpath(this.#root);
    if (real !== realRoot && !real.startsWith(realRoot + sep)) throw new Error('blob directory escapes UPLOAD_ROOT');
  }

  /** Stores content; returns its address. Storing bytes that are already there is a no-op. */
  async put(content: Buffer): Promise<string> {
    const sha256 = sha256Hex(content);
    await this.restore(sha256, content);
    return sha256;
  }

  /**
   * Makes sure the blob `put` stored at `sha256` is still there: called under the blob's
   * lock (see DocumentsService), it writes back bytes a concurrent release removed, and
   * costs one lstat when they are there, without hashing the content again.
   */
  async restore(sha256: string, content: Buffer): Promise<void> {
    await this.#write(this.pathOf(sha256), content);
  }

  async #write(target: string, content: Buffer): Promise<void> {
    const directory = join(target, '..');
    await this.#ensureDirectory(directory);
    const existing = await lstat(target).catch(unlessMissing(undefined));
    if (existing?.isFile() && existing.size === content.length) return;
    const temporary = join(directory, `.tmp-${randomBytes(8).toString('hex')}`);
    const handle = await open(temporary, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
    try {
      await handle.writeFile(content);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temporary, target);
  }

  async get(sha256: string): Promise<Buffer> {
    const handle = await open(this.pathOf(sha256), constants.O_RDONLY | constants.O_NOFOLLOW);
    try {
      return await handle.readFile();
    } finally {
      await handle.close();
    }
  }

  async delete(sha256: string): Promise<void> {
    await unlink(this.pathOf(sha256)).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'ENOENT') throw error;
    });
  }

  /** True when the blob's file is there (readiness re-checks blobs found missing). */
  async has(sha256: string): Promise<boolean> {
    return (await lstat(this.pathOf(sha256)).catch(unlessMissing(undefined)))?.isFile() ?? false;
  }

  /** Where an uploaded archive lives; ids are ours (UUIDs), never a client's. */
  archivePathOf(archiveId: string): string {
    if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(archiveId)) throw new Error('not an archive id');
    return resolve(this.#root, 'archives', archiveId);
  }

  /** Stores an uploaded archive under a new id of its own: it is never shared, so its import may delete it. */
  async putArchive(content: Buffer): Promise<string> {
    const archiveId = randomUUID();
    await this.#write(this.archivePathOf(archiveId), content);
    return archiveId;
  }

  async deleteArchive(archiveId: string): Promise<void> {
    await rm(this.archivePathOf(archiveId), { force: true });
  }

  /** Removes archives older than `maxAgeMs` (their imports ended or were given up long ago); returns how many. */
  async sweepArchives(maxAgeMs: number): Promise<number> {
    const directory = join(this.#root, 'archives');
    let removed = 0;
    for (const name of await readdir(directory).catch(unlessMissing<string[]>([]))) {
      const info = await stat(join(directory, name)).catch(unlessMissing(undefined));
      if (info && Date.now() - info.mtimeMs > maxAgeMs) {
        await rm(join(directory, name), { force: true });
        removed += 1;
      }
    }
    return removed;
  }

  /** Every stored address (for the orphan sweep); temporary files left by crashed writes go. */
  async list(): Promise<string[]> {
    const blobs = join(this.#root, 'blobs');
    const prefixes = await readdir(blobs).catch(unlessMissing<string[]>([]));
    const all: string[] = [];
    for (const prefix of prefixes) {
      for (const name of await readdir(join(blobs, prefix)).catch(unlessMissing<string[]>([]))) {
        if (/^[0-9a-f]{64}$/.test(name)) all.push(name);
        else if (name.startsWith('.tmp-')) {
          // A young one may be an upload being written: removing it would fail that upload's rename.
          const info = await stat(join(blobs, prefix, name)).catch(unlessMissing(undefined));
          if (info && Date.now() - info.mtimeMs > TEMPORARY_FILE_MAX_AGE_MS) await rm(join(blobs, prefix, name), { force: true });
        }
      }
    }
    return all;
  }
}
