// Unpacks a zip or (gzipped) tar archive into files, with the same path rules as single
// uploads for every entry (zip-slip safe) and limits on entry count and on the bytes
// actually decompressed (zip-bomb safe: headers are not trusted).
import { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import tar from 'tar-stream';
import yauzl from 'yauzl';
import { AppError } from '../../platform/errors.ts';
import { normaliseDocumentPath } from './paths.ts';
import type { UploadFile } from './service.ts';

export type ArchiveFormat = 'zip' | 'tar' | 'tar.gz';

export interface ArchiveLimits {
  maxEntries: number;
  maxTotalBytes: number;
  maxFileBytes: number;
}

export class ArchiveRejected extends AppError {}

function reject(message: string): ArchiveRejected {
  return new ArchiveRejected('VALIDATION_FAILED', `Archive rejected: ${message}`);
}

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
    if (this.#entries > this.#limits.maxEntries) throw reject(`more than ${this.#limits.maxEntries} entries`);
  }

  async read(stream: AsyncIterable<Buffer>, path: string): Promise<Buffer> {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of stream) {
      size += chunk.length;
      this.#bytes += chunk.length;
      if (size > this.#limits.maxFileBytes) throw reject(`${path} is larger than ${this.#limits.maxFileBytes} bytes`);
      if (this.#bytes > this.#limits.maxTotalBytes) throw reject(`more than ${this.#limits.maxTotalBytes} bytes uncompressed`);
      chunks.push(chunk);
    }
    return Buffer.concat(chunks);
  }
}

function checkedPath(name: string): string {
  try {
    return normaliseDocumentPath(name);
  } catch (error) {
    throw reject(`entry "${name.slice(0, 200)}": ${(error as Error).message}`);
  }
}

async function unpackZip(archive: Buffer, budget: Budget): Promise<UploadFile[]> {
  const zip = await yauzl
    .fromBufferPromise(archive, { lazyEntries: true, validateEntrySizes: true, strictFileNames: false, decodeStrings: true })
    .catch((error: Error) => {
      throw reject(error.message);
    });
  const files: UploadFile[] = [];
  try {
    for (;;) {
      const entry = await new Promise<yauzl.Entry | undefined>((resolve, fail) => {
        zip.once('entry', resolve);
        zip.once('end', () => resolve(undefined));
        zip.once('error', fail);
        zip.readEntry();
      }).catch((error: Error) => {
        throw error instanceof ArchiveRejected ? error : reject(error.message);
      });
      if (!entry) return files;
      budget.entry();
      if (entry.fileName.endsWith('/')) continue; // a directory
      const path = checkedPath(entry.fileName);
      const stream = await zip.openReadStreamPromise(entry).catch((error: Error) => {
        throw reject(error.message);
      });
      files.push({ path, content: await budget.read(stream, path).catch(rethrowAsRejection) });
    }
  } finally {
    zip.close();
  }
}

function rethrowAsRejection(error: Error): never {
  throw error instanceof ArchiveRejected ? error : reject(error.message);
}

async function unpackTar(archive: Buffer, gzipped: boolean, budget: Budget): Promise<UploadFile[]> {
  const extract = tar.extract();
  const source = Readable.from([archive]);
  (gzipped ? source.pipe(createGunzip()) : source).pipe(extract);
  const files: UploadFile[] = [];
  try {
    for await (const entry of extract) {
      budget.entry();
      const { name, type } = entry.header;
      if (type === 'directory') {
        entry.resume();
        continue;
      }
      // Links could point anywhere; only plain files are documents.
      if (type !== 'file') throw reject(`entry "${name.slice(0, 200)}" is a ${type}, not a file`);
      const path = checkedPath(name);
      files.push({ path, content: await budget.read(entry as AsyncIterable<Buffer>, path) });
    }
  } catch (error) {
    rethrowAsRejection(error as Error);
  }
  return files;
}

export async function unpackArchive(archive: Buffer, format: ArchiveFormat, limits: ArchiveLimits): Promise<UploadFile[]> {
  const budget = new Budget(limits);
  const files = format === 'zip' ? await unpackZip(archive, budget) : await unpackTar(archive, format === 'tar.gz', budget);
  if (files.length === 0) throw reject('it contains no files');
  return files;
}
