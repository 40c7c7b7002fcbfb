// The vote consumer of the embedded shape stopped mid-stream (what SIGTERM does to `serve`):
// the batch in hand is applied and acknowledged, and no entry stays held by it.
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config.ts';
import { createModules } from '../../../src/modules/index.ts';
import type { PollsModule } from '../../../src/modules/polls/module.ts';
import { createLogger } from '../../../src/platform/observability/logger.ts';
import { startPlatform } from '../../../src/platform/platform.ts';
import { startModules } from '../../../src/roles/module-parts.ts';
import { createVoters } from '../../helpers/voters.ts';
import { eventually } from '../../helpers/wait.ts';

describe('stopping the vote consumer (embedded shape)', () => {
  it('finishes and acknowledges the batch in hand; nothing it read stays pending', async () => {
    const config = loadConfig({ NODE_ENV: 'test', LOG_LEVEL: 'silent', VOTE_BATCH_SIZE: '20', VOTE_BLOCK_MS: '200' });
    const platform = await startPlatform(config, createLogger('silent'), { inMemory: true });
    try {
      const modules = createModules(platform);
      const polls = modules.find((module) => module.name === 'polls') as PollsModule;
      const query = platform.db.query.bind(platform.db);
      const voters = await createVoters(query, 600);
      const poll = await polls.service.create(voters[0]?.userId ?? '', { question: 'Stop?', options: ['a', 'b'] });
      // A backlog before the consumer starts, so the stop lands between batches or inside one.
      await query(
        `insert into poll_vote_log (poll_id, user_id, entry)
         select $1::uuid, u, jsonb_build_object('v', gen_random_uuid(), 'p', $1::text, 'u', u::text, 'o', n % 2, 'r', 'req-' || n,
                't', floor(extract(epoch from now()) * 1000)::bigint)
           from unnest($2::uuid[]) with ordinality as x(u, n)`,
        [poll.id, voters.map((voter) => voter.userId)],
      );
      const stopLoops = await startModules(platform, modules, 'test', true);
      await eventually(async () => polls.consumer.stats.batches >= 1);
      await stopLoops();
      const [held] = await query<{ n: number }>('select count(*) as n from poll_vote_log where consumer is not null');
      const [waiting] = await query<{ n: number }>('select count(*) as n from poll_vote_log');
      const [applied] = await query<{ n: number }>('select count(*) as n from poll_votes where poll_id = $1', [poll.id]);
      expect(Number(held?.n)).toBe(0);
      expect(Number(applied?.n)).toBe(polls.consumer.stats.applied);
      expect(Number(applied?.n) + Number(waiting?.n)).toBe(600);
      const results = await polls.service.results(poll.id, true);
      expect(results.total).toBe(Number(applied?.n));
      expect(results.pending).toBe(Number(waiting?.n));
    } finally {
      await platform.stop();
    }
  });
});
