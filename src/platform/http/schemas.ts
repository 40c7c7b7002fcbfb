// Schema pieces every route uses: the error responses, "no body" and "no content".
import { Type } from '@sinclair/typebox';
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
