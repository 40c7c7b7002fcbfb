// The request validator: Fastify's own Ajv compiler (same formats and defaults) in two
// instances, one for JSON bodies without coercion (a body says which type it means, so
// `{"email": ["a@b.c"]}` is not an email) and one for query, params and headers with
// coercion (they arrive as strings). After the schema passes, one walk over the value
// refuses what no schema keyword catches and Postgres cannot take: strings breaking the
// text rule and the non-finite numbers Ajv's coercion makes of "1e309" or "Infinity".
// Failures leave as Fastify validation errors, so error-handler.ts maps them like any other.
import { AjvCompiler } from '@fastify/ajv-compiler';
import type { FastifySchemaCompiler, FastifySchemaValidationError } from 'fastify';
import { RAW_TEXT } from './schemas.ts';
import { isStorableText, TEXT_RULE_MESSAGE } from './text.ts';

interface AjvValidator {
  (data: unknown, context?: AjvDataContext): boolean;
  errors?: FastifySchemaValidationError[] | null;
  schemaEnv?: unknown;
}

interface AjvDataContext {
  parentData?: Record<string, unknown>;
  parentDataProperty?: string;
}

type RouteSchemaDef = Parameters<FastifySchemaCompiler<unknown>>[0];
type CheckedValidator = ReturnType<FastifySchemaCompiler<unknown>> & { schemaEnv?: unknown };

const SHARED_OPTIONS = { removeAdditional: false, useDefaults: true, keywords: [RAW_TEXT] };

function refusal(instancePath: string, message: string): FastifySchemaValidationError {
  return { keyword: 'requestRules', instancePath, schemaPath: '#', params: {}, message };
}

/** Ajv's spelling of a property name inside an instance path (JSON Pointer). */
function pointerSegment(key: string): string {
  return key.replaceAll('~', '~0').replaceAll('/', '~1');
}

/** Parsed JSON, a query object (its prototype is bare, not Object's), a schema; not a raw Buffer body. */
function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !ArrayBuffer.isView(value);
}

/** Instance paths of the strings a schema marks as raw text, through its properties (and their unions). */
function rawTextPaths(schema: unknown, at = '', into = new Set<string>()): Set<string> {
  if (!isRecord(schema)) return into;
  if (schema[RAW_TEXT] === true) into.add(at);
  if (isRecord(schema.properties)) {
    for (const [name, property] of Object.entries(schema.properties)) rawTextPaths(property, `${at}/${pointerSegment(name)}`, into);
  }
  for (const branches of [schema.anyOf, schema.oneOf, schema.allOf]) {
    if (Array.isArray(branches)) for (const branch of branches) rawTextPaths(branch, at, into);
  }
  return into;
}

/** The first value breaking the request rules, as a validation issue; undefined when there is none. */
function findRefusal(value: unknown, at: string, rawText: ReadonlySet<string>): FastifySchemaValidationError | undefined {
  if (typeof value === 'string') return rawText.has(at) || isStorableText(value) ? undefined : refusal(at, TEXT_RULE_MESSAGE);
  if (typeof value === 'number') return Number.isFinite(value) ? undefined : refusal(at, 'must be a finite number');
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i += 1) {
      const found = findRefusal(value[i], `${at}/${i}`, rawText);
      if (found) return found;
    }
    return undefined;
  }
  if (!isRecord(value)) return undefined;
  for (const [key, item] of Object.entries(value)) {
    const path = `${at}/${pointerSegment(key)}`;
    if (!isStorableText(key)) return refusal(path, `name ${TEXT_RULE_MESSAGE}`);
    const found = findRefusal(item, path, rawText);
    if (found) return found;
  }
  return undefined;
}

function withRequestRules(validate: AjvValidator, schema: unknown): CheckedValidator {
  const rawText = rawTextPaths(schema);
  const checked: CheckedValidator = (data: unknown, context?: AjvDataContext) => {
    if (!validate(data, context)) {
      checked.errors = validate.errors ?? null;
      return false;
    }
    // Coercing a scalar root replaces it in the parent, so the walk reads it from there.
    const value = context?.parentData && context.parentDataProperty ? context.parentData[context.parentDataProperty] : data;
    const found = findRefusal(value, '', rawText);
    checked.errors = found ? [found] : null;
    return found === undefined;
  };
  // Fastify hands Ajv functions (known by schemaEnv) the parent object, which root coercion needs.
  checked.schemaEnv = validate.schemaEnv;
  return checked;
}

/** The validator compiler for `app.setValidatorCompiler`; routes share no external schemas (`addSchema` is unused). */
export function createRequestValidatorCompiler(): FastifySchemaCompiler<unknown> {
  const pool = AjvCompiler();
  const compileFor = (coerceTypes: false | 'array') =>
    pool({}, { customOptions: { ...SHARED_OPTIONS, coerceTypes } }) as unknown as (route: RouteSchemaDef) => AjvValidator;
  const compileBody = compileFor(false);
  const compileStrings = compileFor('array');
  return (route) => withRequestRules((route.httpPart === 'body' ? compileBody : compileStrings)(route), route.schema);
}
