// Reads a multipart upload into files, and maps what the parser raises on a body it
// cannot read (@fastify/multipart's coded errors, busboy's plain ones) onto our codes, once.
import type { FastifyRequest } from 'fastify';
import type { UploadsConfig } from '../../config.ts';
import { AppError } from '../../platform/errors.ts';
import type { UploadFile } from './service.ts';

export function uploadTooLarge(limits: UploadsConfig): AppError {
  return new AppError(
    'PAYLOAD_TOO_LARGE',
    `Each file may be at most ${limits.maxFileBytes} bytes, a request at most ${limits.maxRequestBytes}`,
  );
}

/** The parser's limits (busboy's names): all follow MAX_UPLOAD_FILES, a field (a path) per file and room for spare parts. */
export function multipartLimits(limits: UploadsConfig) {
  return {
    fileSize: limits.maxFileBytes,
    files: limits.maxFiles,
    fields: limits.maxFiles * 2,
    parts: limits.maxFiles * 3,
    fieldSize: 4096,
  };
}

function tooManyParts(limits: UploadsConfig): AppError {
  const { files, fields, parts } = multipartLimits(limits);
  return new AppError('PAYLOAD_TOO_LARGE', `An upload may hold at most ${files} files, ${fields} fields and ${parts} parts`);
}

// @fastify/multipart's errors, by code. The count limits follow MAX_UPLOAD_FILES, which
// is documented as a 413 like the byte limits.
const PLUGIN_LIMITS = new Map<unknown, (limits: UploadsConfig) => AppError>([
  ['FST_REQ_FILE_TOO_LARGE', uploadTooLarge],
  ['FST_FILES_LIMIT', tooManyParts],
  ['FST_FIELDS_LIMIT', tooManyParts],
  ['FST_PARTS_LIMIT', tooManyParts],
]);
// The plugin's refusals of a malformed body, answered like busboy's below.
const PLUGIN_MALFORMED = new Set<unknown>(['FST_PROTO_VIOLATION', 'FST_INVALID_JSON_FIELD_ERROR', 'FST_MP_PREMATURE_CLOSE']);

// busboy's (and its dicer's) errors carry no code: their messages are the only mark.
const PARSER_MESSAGES = [
  /^Multipart: Boundary not found$/,
  /^Boundary required$/,
  // streamsearch, when busboy builds its boundary search: RFC 2046 allows 1 to 70 characters.
  /^The needle cannot (be an empty String\/Buffer|have a length bigger than 256)\.$/,
  /^Unexpected end of multipart data$/,
  /^\w+ terminated early due to unexpected end of multipart data$/,
  /^Missing Content-Type-header\.$/,
  /^Unsupported Content-Type\.$/,
];

/** Our error for a parser failure; undefined for anything else (ours, or a bug), which the caller rethrows. */
function multipartError(error: unknown, limits: UploadsConfig): AppError | undefined {
  if (!(error instanceof Error) || error instanceof AppError) return undefined;
  const code = (error as { code?: unknown }).code;
  const overLimit = PLUGIN_LIMITS.get(code);
  if (overLimit) return overLimit(limits);
  if (PLUGIN_MALFORMED.has(code) || PARSER_MESSAGES.some((pattern) => pattern.test(error.message))) {
    return new AppError('VALIDATION_FAILED', `Malformed multipart body: ${error.message}`, { cause: error });
  }
  return undefined;
}

/** Every file of a multipart upload; a `path` field names the next file, else its filename does. */
export async function readMultipart(request: FastifyRequest, limits: UploadsConfig): Promise<UploadFile[]> {
  const files: UploadFile[] = [];
  let total = 0;
  let nextPath: string | undefined;
  try {
    for await (const part of request.parts()) {
      if (part.type === 'field') {
        if (part.fieldname === 'path') nextPath = String(part.value);
        continue;
      }
      const content = await part.toBuffer();
      total += content.length;
      if (total > limits.maxRequestBytes) throw uploadTooLarge(limits);
      files.push({ path: nextPath ?? part.filename, content });
      nextPath = undefined;
    }
  } catch (error) {
    throw multipartError(error, limits) ?? error;
  }
  if (files.length === 0) throw new AppError('VALIDATION_FAILED', 'A multipart upload needs at least one file');
  return files;
}
