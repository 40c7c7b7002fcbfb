// Schema pieces every route uses: the error responses, "no body" and "no content",
// query integers with both bounds, and the mark for strings the text rule leaves alone.
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

export const NoContent = Type.Null({ description: 'No content' });

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
