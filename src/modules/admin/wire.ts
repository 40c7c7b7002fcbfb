// The admin API's own wire schemas (accounts reuse the auth module's): a durable job as
// operators see it. The platform's JobQueue already returns jobs in this snake_case shape.
import { Type } from '@sinclair/typebox';

export const JobSchema = Type.Object({
  id: Type.String(),
  type: Type.String(),
  state: Type.String(),
  attempts: Type.Integer(),
  retry_limit: Type.Integer(),
  created_at: Type.String({ format: 'date-time' }),
  started_at: Type.Union([Type.String(), Type.Null()]),
  completed_at: Type.Union([Type.String(), Type.Null()]),
  output: Type.Unknown(),
});
