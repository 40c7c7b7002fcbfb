// The JSON body parser: secure-json-parse (Fastify's own), refusing __proto__ and
// constructor.prototype, behind a nesting-depth check, so a deeply nested body is a 400, not a stack overflow.
import type { FastifyInstance } from 'fastify';
import secureJson from 'secure-json-parse';
import { AppError } from '../errors.ts';

/** Deepest nesting of objects/arrays in a JSON text, stopping early past `limit`. */
export function jsonDepthExceeds(text: string, limit: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i += 1) {
    const char = text.charCodeAt(i);
    if (inString) {
      if (char === 92 /* \ */) i += 1;
      else if (char === 34 /* " */) inString = false;
    } else if (char === 34) inString = true;
    else if (char === 123 /* { */ || char === 91 /* [ */) {
      depth += 1;
      if (depth > limit) return true;
    } else if (char === 125 /* } */ || char === 93 /* ] */) depth -= 1;
  }
  return false;
}

function parseJsonBody(text: string, maxDepth: number): unknown {
  if (jsonDepthExceeds(text, maxDepth)) throw new AppError('VALIDATION_FAILED', `JSON body nests deeper than ${maxDepth} levels`);
  if (text.trim() === '') throw new AppError('VALIDATION_FAILED', 'Empty JSON body');
  try {
    return secureJson.parse(text, undefined, { protoAction: 'error', constructorAction: 'error' });
  } catch (error) {
    const poisoned = /forbidden (prototype|constructor)/i.test((error as Error).message);
    throw new AppError('VALIDATION_FAILED', poisoned ? 'JSON body contains a forbidden prototype property' : 'Malformed JSON body');
  }
}

export function registerJsonBodyParser(app: FastifyInstance, maxDepth: number): void {
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, done) => {
    try {
      done(null, parseJsonBody(body as string, maxDepth));
    } catch (error) {
      done(error as AppError, undefined);
    }
  });
}
