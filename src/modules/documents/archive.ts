// Unpacks a zip or (gzipped) tar archive file into entries, with the same path rules as
// single uploads for every entry (zip-slip safe) and limits on entry count and on the
// bytes actually decompressed (zip-bomb safe: headers are not trusted). Every stream
// ends in this module's one promise: a corrupt, truncated or hostile archive rejects
// with ArchiveRejected (a reason written for the uploader), never an unhandled error.
import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import tar, { type Header as TarHeader } from 'tar-stream';
import yauzl from 'yauzl';
import { normaliseDocumentPath } from './paths.ts';

export type ArchiveFormat = 'zip' | 'tar' | 'tar.gz';

export interface ArchiveLimits {
  maxEntries: number;
  maxTotalBytes: number;
  maxFileBytes: number;
}

/** One file of an archive, its path already checked and normalised. */
export interface ArchiveEntry {
  path: string;
  content: Buffer;
}

/** The archive cannot be imported; `message` is the reason, safe to show to the uploader. */
export class ArchiveRejected extends Error {
  constructor(reason: string) {
    super(`Archive rejected: ${reason}`);
    this.name = 'ArchiveRejected';
  }
}

// What a reader's own error means for the uploader. The raw message (zlib's "incorrect
// header check", a file path from fs) stays in the log, never in the job's outcome.
const UNREADABLE: Record<ArchiveFormat, string> = {
  zip: 'it is not a readable zip archive (corrupt or truncated)',
  tar: 'it is not a readable tar archive (corrupt or truncated)',
  'tar.gz': 'it is not a readable gzip-compressed tar archive (corrupt or truncated)',
};

/** Counts entries and decompressed bytes across the whole archive. */
class Budget {
  #entries = 0;
  #bytes = 0;
  readonly #limits: ArchiveLimits;

  constructor(limits: ArchiveLimits) {
    this.#limits = limits;
  }

  entry(): void {
    this.#entries += 1;
    if (this.#entries > this.#limits.maxEntries) throw new ArchiveRejected(`more than ${this.#limits.maxEntries} entries`);
  }

  async read(stream: AsyncIterable<Buffer>, path: string): Promise<Buffer> {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of stream) {
      size += chunk.length;
      this.#bytes += chunk.length;
      if (size > this.#limits.maxFileBytes) throw new ArchiveRejected(`${path} is larger than ${this.#limits.maxFileBytes} bytes`);
      if (this.#bytes > this.#limits.maxTotalBytes) {
        throw new ArchiveRejected(`more than ${this.#limits.maxTotalBytes} bytes uncompressed`);
      }
      chunks.push(chunk);
    }
    return Buffer.concat(chunks);
  }
}

function checkedPath(name: string): string {
  try {
    return normaliseDocumentPath(name);
  } catch (error) {
    // normaliseDocumentPath's messages describe the client's own path, so they are safe to show.
    throw new ArchiveRejected(`entry "${name.slice(0, 200)}": ${(error as Error).message}`);
  }
}

async function unpackZip(file: string, budget: Budget, signal: AbortSignal | undefined): Promise<ArchiveEntry[]> {
  const zip = await yauzl.openPromise(file, {
    lazyEntries: true,
    autoClose: false,
    validateEntrySizes: true,
    strictFileNames: false,
    decodeStrings: true,
  });
  // yauzl reports some failures on the ZipFile itself, at any time: a listener for the
  // whole read keeps one of them from becoming an unhandled 'error' event.
  let zipError: Error | undefined;
  zip.on('error', (error: Error) => {
    zipError ??= error;
  });
  const entries: ArchiveEntry[] = [];
  try {
    for await (const entry of zip.eachEntry()) {
      signal?.throwIfAborted();
      budget.entry();
      if (entry.fileName.endsWith('/')) continue; // a directory
      const path = checkedPath(entry.fileName);
      entries.push({ path, content: await budget.read(await zip.openReadStreamPromise(entry), path) });
    }
  } finally {
    zip.close();
  }
  if (zipError) throw zipError;
  return entries;
}

async function unpackTar(file: string, gzipped: boolean, budget: Budget, signal: AbortSignal | undefined): Promise<ArchiveEntry[]> {
  const entries: ArchiveEntry[] = [];
  const source: Readable = createReadStream(file);
  // pipeline destroys every stage when any fails (or the consumer throws), so each error
  // of the file, gunzip or tar parser rejects this one promise.
  const collect = async (source: AsyncIterable<unknown>) => {
    for await (const item of source) {
      const entry = item as AsyncIterable<Buffer> & { header: TarHeader; resume(): void };
      budget.entry();
      const { name, type } = entry.header;
      if (type === 'directory') {
        entry.resume();
        continue;
      }
      // Links could point anywhere; only plain files are documents.
      if (type !== 'file') throw new ArchiveRejected(`entry "${name.slice(0, 200)}" is a ${type}, not a file`);
      const path = checkedPath(name);
      entries.push({ path, content: await budget.read(entry, path) });
    }
  };
  // tar-stream's extractor is a streamx stream: a writable side and entries to read.
  const extract = tar.extract() as unknown as NodeJS.ReadWriteStream;
  if (gzipped) await pipeline(source, createGunzip(), extract, collect, { signal });
  else await pipeline(source, extract, collect, { signal });
  return entries;
}

/**
 * The files of an archive, or ArchiveRejected. `onUnreadable` sees the reader's own error
 * (for the log) when the archive is corrupt, before it becomes a reason for the uploader;
 * `signal` (the job's) stops the read, which then rejects with the abort.
 */
export async function unpackArchive(
  file: string,
  format: ArchiveFormat,
  limits: ArchiveLimits,
  onUnreadable: (error: unknown) => void,
  signal?: AbortSignal,
): Promise<ArchiveEntry[]> {
  const budget = new Budget(limits);
  let entries: ArchiveEntry[];
  try {
    entries = format === 'zip' ? await unpackZip(file, budget, signal) : await unpackTar(file, format === 'tar.gz', budget, signal);
  } catch (error) {
    // Stopped because the job failed: not a verdict on the archive.
    if (error instanceof ArchiveRejected || signal?.aborted) throw error;
    const systemError = error as NodeJS.ErrnoException;
    if (systemError.code === 'ENOENT' && systemError.path === file) {
      throw new ArchiveRejected('the uploaded archive is no longer stored; upload it again');
    }
    // A failing disk is ours, not the archive's: the job fails and retries.
    if (systemError.syscall !== undefined) throw error;
    onUnreadable(error);
    throw new ArchiveRejected(UNREADABLE[format]);
  }
  if (entries.length === 0) throw new ArchiveRejected('it contains no files');
  return entries;
}
