// The six failure scenarios of issue 21 by name, in the order `npm run chaos` runs them,
// each checking DESIGN.md's promise for it ("Shapes of failure") in the database afterwards.
import type { Context, ScenarioResult } from './common.ts';
import { postgresCut, redisCut } from './dependencies.ts';
import { apiKill, consumerKill, workerKill } from './kills.ts';
import { apiSigterm } from './sigterm.ts';

export type { ScenarioResult, Timing } from './common.ts';

export const scenarios: Record<string, (context: Context) => Promise<ScenarioResult>> = {
  redis: redisCut,
  postgres: postgresCut,
  'worker-kill': workerKill,
  'consumer-kill': consumerKill,
  'api-kill': apiKill,
  sigterm: apiSigterm,
};
