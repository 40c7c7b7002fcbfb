// The polls module: routes, the vote consumer loop, the `polls:` realtime topic, as the
// module contract declares them. The vote log is a Redis Stream in the scale shape and a
// table in the embedded shape; it calls the accounts module only through the guard.
import type { Module } from '../../platform/module.ts';
import type { Platform } from '../../platform/platform.ts';
import type { Guard } from '../auth/guard.ts';
import { VoteConsumer } from './consumer.ts';
import { ResultsPublisher } from './publisher.ts';
import { RedisVoteLog } from './redis-vote-log.ts';
import { registerPollRoutes } from './routes.ts';
import { PollsService } from './service.ts';
import { TableVoteLog } from './table-vote-log.ts';
import type { VoteLog } from './vote-log.ts';
import { toResults } from './wire.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export interface PollsModule extends Module {
  service: PollsService;
  voteLog: VoteLog;
  consumer: VoteConsumer;
}

export function createPollsModule(platform: Platform, guard: Guard): PollsModule {
  const { config } = platform;
  // The vote path's two Redis calls (the per-account limit, then the append) on a connection
  // of their own with auto-pipelining: the calls of every vote in one turn of the event loop
  // leave in one socket write, where each was a write of its own, and those writes were the
  // largest share of the API's CPU per vote (bench/polls.ts, POLLS_BENCH_CPU_PROF). It
  // connects when `serve` registers the routes (the worker never appends).
  const votePath = platform.redis?.duplicate({ enableAutoPipelining: true, lazyConnect: true });
  votePath?.on('error', () => {}); // the main client logs Redis outages; one line is enough
  const voteLog: VoteLog = platform.redis
    ? new RedisVoteLog(platform.redis, config.redisKeyPrefix, config.polls.streamMaxLength, config.polls.blockMs, votePath)
    : new TableVoteLog(platform.db, config.polls.claimIntervalMs);
  const service = new PollsService(platform, voteLog, votePath);
  const publisher = new ResultsPublisher(
    platform.realtime,
    async (pollId) => toResults(await service.results(pollId, true)),
    config.polls.eventsIntervalMs,
    platform.logger,
  );
  const consumer = new VoteConsumer(voteLog, service.repo, config.polls, platform.logger, async (outcome) => {
    await service.applied(outcome);
    for (const [pollId, requestId] of outcome.lastRequestIdByPoll) publisher.changed(pollId, requestId);
  });
  platform.metrics.trackVoteStream({
    counts: () => ({
      accepted: service.accepted,
      unknown: service.outcomeUnknown,
      applied: consumer.stats.applied,
      rejected: consumer.stats.rejected,
      duplicate: consumer.stats.duplicates,
      claimed: consumer.stats.claimed,
      dead_lettered: consumer.stats.deadLettered,
    }),
    backlog: () => voteLog.backlog(),
  });
  return {
    name: 'polls',
    service,
    voteLog,
    consumer,
    routes: async (api) => {
      if (votePath) {
        api.addHook('onClose', async () => votePath.disconnect());
        // Redis down at start: ioredis keeps reconnecting, and votes answer 503 until it is back.
        await votePath
          .connect()
          .catch((error: unknown) =>
            platform.logger.warn({ err: error }, 'vote path: Redis not reachable at start-up; votes answer 503 until it is'),
          );
      }
      await registerPollRoutes(api, service, guard);
    },
    loops: [
      {
        name: consumer.name,
        start: () => consumer.start(),
        async stop() {
          await consumer.stop();
          await publisher.stop();
        },
      },
    ],
    topics: [
      {
        prefix: 'polls:',
        // Every signed-in account may follow any poll that exists.
        maySubscribe: async (_subscriber, topic) => {
          const id = topic.slice('polls:'.length);
          return UUID.test(id) && (await service.exists(id));
        },
      },
    ],
  };
}
