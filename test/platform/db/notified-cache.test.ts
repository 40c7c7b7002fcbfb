// The row cache of the scale shape (platform/db/notified-cache.ts) against a real Postgres:
// it serves what it holds only while its listening connection is up, empties itself on every
// notification of the channel, goes dark when that connection is killed, and listens (and
// caches) again after its back-off; stop() leaves no connection behind.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NotifiedCache } from '../../../src/platform/db/notified-cache.ts';
import { createLogger } from '../../../src/platform/observability/logger.ts';
import { createTestDatabase, scaleUrls, type TestDatabase } from '../../helpers/shapes.ts';
import { captureLogs } from '../../helpers/test-app.ts';
import { eventually } from '../../helpers/wait.ts';

const CHANNEL = 'rampart_test_rows';

describe.runIf(scaleUrls)('NotifiedCache (real Postgres)', () => {
  let database: TestDatabase;
  let pool: pg.Pool;
  beforeAll(async () => {
    database = await createTestDatabase();
    pool = new pg.Pool({ connectionString: database.url, max: 2 });
  });
  afterAll(async () => {
    await pool?.end();
    await database?.drop();
  });

  const listeners = async () =>
    Number(
      (
        await pool.query(
          "select count(*) as n from pg_stat_activity where datname = current_database() and query = 'LISTEN rampart_test_rows'",
        )
      ).rows[0].n,
    );
  const cacheOne = (cache: NotifiedCache<string>, value: string) => cache.set('row', value, cache.generation());

  it('caches only while it listens, empties on a notification, goes dark when killed and comes back', async () => {
    const logs = captureLogs();
    // A back-off long enough that a busy machine sees the dark window before it listens again.
    const cache = new NotifiedCache<string>({
      maxEntries: 10,
      maxAgeMs: 60_000,
      databaseUrl: database.url,
      channel: CHANNEL,
      logger: createLogger('info', logs.stream),
      retryFirstMs: 5_000,
    });
    // Not started: nothing is kept.
    cacheOne(cache, 'before start');
    expect(cache.get('row')).toBeUndefined();
    cache.start();
    try {
      await eventually(async () => cache.live || undefined, 10_000);
      cacheOne(cache, 'v1');
      expect(cache.get('row')).toBe('v1');
      // A write elsewhere, announced as the repos announce theirs, as its transaction commits.
      await pool.query(`begin; ${cache.notifyStatement}; commit`);
      await eventually(async () => cache.get('row') === undefined, 10_000);
      // A read that began before a notification is not kept, even if it ends after it.
      const readAt = cache.generation();
      await pool.query(cache.notifyStatement);
      await eventually(async () => cache.generation() !== readAt, 10_000);
      cache.set('row', 'read before the write', readAt);
      expect(cache.get('row')).toBeUndefined();

      cacheOne(cache, 'v2');
      const ended = await pool.query(
        "select pg_terminate_backend(pid) from pg_stat_activity where datname = current_database() and query = 'LISTEN rampart_test_rows'",
      );
      expect(ended.rowCount).toBe(1);
      await eventually(async () => !cache.live || undefined, 4_000);
      expect(cache.get('row')).toBeUndefined();
      cacheOne(cache, 'while dark');
      expect(cache.get('row')).toBeUndefined();
      expect(logs.lines.some((line) => line.msg === 'row cache listener lost; rows are read from the database' && line.level === 40)).toBe(
        true,
      );
      await eventually(async () => cache.live || undefined, 20_000);
      cacheOne(cache, 'v3');
      expect(cache.get('row')).toBe('v3');
    } finally {
      await cache.stop();
    }
    expect(cache.live).toBe(false);
    await eventually(async () => (await listeners()) === 0, 10_000);
  });

  it('with an age limit of 0 never listens and keeps nothing, but still names the statement that announces a write', async () => {
    const cache = new NotifiedCache<string>({
      maxEntries: 10,
      maxAgeMs: 0,
      databaseUrl: database.url,
      channel: CHANNEL,
      logger: createLogger('silent'),
    });
    cache.start();
    cacheOne(cache, 'v');
    expect(cache.get('row')).toBeUndefined();
    expect(cache.notifyStatement).toBe("select pg_notify('rampart_test_rows', '')");
    expect(await listeners()).toBe(0);
    await cache.stop();
  });
});
