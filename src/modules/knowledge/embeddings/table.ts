// The local embedder's word table: its binary file format (written once by
// scripts/build-embeddings-table.ts, read by the service) and the table in memory.
//
// Layout, little-endian: the 8-byte magic; a u32 length and that many bytes of JSON metadata
// (TableMetadata); zero padding to a multiple of 4; f32[dimensions] common component;
// f32[words] scales; i8[words * dimensions] vectors; the words, UTF-8, joined by '\n', in
// frequency order. Word i's SIF-weighted vector is vectors[i] * scales[i] (its SIF weight is
// folded into its quantization scale, so embedding is one multiply-add per dimension).
import { open, readFile } from 'node:fs/promises';

const MAGIC = Buffer.from('RMPWTAB\0', 'latin1');

export interface TableMetadata {
  /** The embeddings model id the table gives (LocalEmbeddings.model): a changed table gets a new one. */
  model: string;
  source: string; // the npm package the vectors come from
  sourceVersion: string;
  dimensions: number;
  words: number;
  /** How the table was derived (ranks kept, SIF's `a`, Zipf's vocabulary, the reference sample): documentation only. */
  derivation: Record<string, unknown>;
}

export interface WordTable {
  readonly metadata: TableMetadata;
  readonly dimensions: number;
  /** The first principal component of SIF averages of the reference sample, unit length. */
  readonly commonComponent: Float32Array;
  readonly scales: Float32Array;
  readonly vectors: Int8Array;
  /** Frequency rank among the kept words, by word. */
  readonly index: Map<string, number>;
  /** Bytes of the file (the typed arrays above are views on it). */
  readonly bytes: number;
}

/** A table file that cannot be used (truncated, another format, another model): rebuild it. */
export class TableFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TableFormatError';
  }
}

export function encodeTable(parts: {
  metadata: TableMetadata;
  commonComponent: Float32Array;
  scales: Float32Array;
  vectors: Int8Array;
  words: readonly string[];
}): Buffer {
  const json = Buffer.from(JSON.stringify(parts.metadata), 'utf8');
  const length = Buffer.alloc(4);
  length.writeUInt32LE(json.length);
  const headerBytes = MAGIC.length + 4 + json.length;
  const padding = Buffer.alloc((4 - (headerBytes % 4)) % 4);
  return Buffer.concat([
    MAGIC,
    length,
    json,
    padding,
    bytesOf(parts.commonComponent),
    bytesOf(parts.scales),
    bytesOf(parts.vectors),
    Buffer.from(parts.words.join('\n'), 'utf8'),
  ]);
}

/** The table in a file's bytes; `expectedModel` guards against a table another version of the code built. */
export function decodeTable(file: Buffer, expectedModel?: string): WordTable {
  const metadata = decodeMetadata(file);
  if (expectedModel !== undefined && metadata.model !== expectedModel)
    throw new TableFormatError(`the table gives ${metadata.model}, this code needs ${expectedModel}`);
  // Typed-array views need an aligned offset; a Buffer from readFile starts its own ArrayBuffer, a slice may not.
  const bytes = file.byteOffset % 4 === 0 ? file : Buffer.from(file);
  const { dimensions, words } = metadata;
  let at = bytes.byteOffset + align4(MAGIC.length + 4 + bytes.readUInt32LE(MAGIC.length));
  const commonComponent = new Float32Array(bytes.buffer, at, dimensions);
  at += dimensions * 4;
  const scales = new Float32Array(bytes.buffer, at, words);
  at += words * 4;
  const vectorBytes = words * dimensions;
  if (at - bytes.byteOffset + vectorBytes > bytes.length) throw new TableFormatError('the table is truncated');
  const vectors = new Int8Array(bytes.buffer, at, vectorBytes);
  at += vectorBytes;
  const list = bytes.toString('utf8', at - bytes.byteOffset).split('\n');
  if (list.length !== words) throw new TableFormatError(`the table lists ${list.length} words, its header says ${words}`);
  const index = new Map<string, number>();
  for (let i = 0; i < list.length; i += 1) index.set(list[i] as string, i);
  return { metadata, dimensions, commonComponent, scales, vectors, index, bytes: bytes.length };
}

export async function readTable(path: string, expectedModel?: string): Promise<WordTable> {
  return decodeTable(await readFile(path), expectedModel);
}

/** Only the metadata of a table file (the build step's "is it up to date"), or undefined when there is none. */
export async function readTableMetadata(path: string): Promise<TableMetadata | undefined> {
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(path, 'r');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  try {
    const head = Buffer.alloc(64 * 1024);
    const { bytesRead } = await handle.read(head, 0, head.length, 0);
    return decodeMetadata(head.subarray(0, bytesRead));
  } finally {
    await handle.close();
  }
}

function decodeMetadata(bytes: Buffer): TableMetadata {
  if (bytes.length < MAGIC.length + 4 || !bytes.subarray(0, MAGIC.length).equals(MAGIC))
    throw new TableFormatError('not a word table (wrong magic bytes)');
  const length = bytes.readUInt32LE(MAGIC.length);
  if (MAGIC.length + 4 + length > bytes.length) throw new TableFormatError('the table is truncated');
  let metadata: TableMetadata;
  try {
    metadata = JSON.parse(bytes.toString('utf8', MAGIC.length + 4, MAGIC.length + 4 + length));
  } catch (error) {
    if (error instanceof SyntaxError) throw new TableFormatError('the table metadata is not JSON');
    throw error;
  }
  if (!Number.isInteger(metadata.dimensions) || !Number.isInteger(metadata.words) || metadata.dimensions < 1)
    throw new TableFormatError('the table metadata has no dimensions or word count');
  return metadata;
}

function bytesOf(array: Float32Array | Int8Array): Buffer {
  return Buffer.from(array.buffer, array.byteOffset, array.byteLength);
}

function align4(offset: number): number {
  return offset + ((4 - (offset % 4)) % 4);
}
