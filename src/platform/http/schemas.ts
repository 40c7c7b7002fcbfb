// Schema pieces routes share, written once: the error responses, "no body" and "no
// content", the uuid id param, keyset paging, the role list, query integers with both
// bounds, and the mark for strings the text rule leaves alone.
import { type StringOptions, Type } from '@sinclair/typebox';
import { errorEnvelopeSchema } from '../errors.ts';

/** Every route answers its errors in the one envelope. */
export const errorResponses = { '4xx': errorEnvelopeSchema, '5xx': errorEnvelopeSchema } as const;

/** For actions that take no body: nothing, or an empty JSON object; any field is refused. */
export const EmptyBody = Type.Unsafe<Record<string, never> | undefined>({
  // Written as "not an object with fields" because an absent body is `undefined`, which no `type` accepts.
  not: { type: 'object', minProperties: 1 },
  description: 'No body (an empty JSON object is accepted)',
});

// Typed `undefined` so a route answers `send()`: `send(null)` would be serialized to "null",
// and on a 304 Fastify then sends Content-Length: 4 for a body that never comes.
export const NoContent = Type.Unsafe<undefined>({ type: 'null', description: 'No content' });

/** `/:id` where the id is a uuid. */
export const IdParams = Type.Object({ id: Type.String({ format: 'uuid' }) });

/** The roles an account can have. */
export const RoleSchema = Type.Union([Type.Literal('user'), Type.Literal('admin')]);

/**
 * An integer from the query string. Both bounds are required: the value reaches SQL
 * (LIMIT), and query coercion reads "1e309" or "Infinity" as a number, which the
 * request validator then refuses as non-finite.
 */
export function BoundedInteger(options: { minimum: number; maximum: number; default?: number; description?: string }) {
  return Type.Integer(options);
}

/** The page size of a keyset-paged listing. */
export function PageLimit(maximum: number, defaultLimit: number) {
  return BoundedInteger({ minimum: 1, maximum, default: defaultLimit, description: `Page size, 1 to ${maximum}` });
}

/** The query properties of a keyset-paged listing: page size, and the cursor the last page returned. */
export function PageQuery(maximum: number, defaultLimit: number) {
  return { limit: PageLimit(maximum, defaultLimit), cursor: Type.Optional(Type.String({ maxLength: 2000 })) };
}

/** The cursor of the next page, or null on the last one. */
export const NextCursor = Type.Union([Type.String(), Type.Null()]);

/** Schema keyword (shown in the OpenAPI document) of a string the text rule leaves to its handler. */
export const RAW_TEXT = 'x-raw-text';

/**
 * A string that may hold NUL and unpaired surrogates: bytes stored as they are (file
 * content), or a value whose own rules refuse them with a more precise code (a document
 * path: PATH_NOT_ALLOWED). Never for text that reaches SQL unchecked.
 */
export function RawText(options: StringOptions = {}) {
  return Type.String({ ...options, [RAW_TEXT]: true });
}
