// Removes what a test app, a test's processes or a bench left in the shared Redis: every key
// under their prefix. Left behind, a run of the suite added some 3,000 keys (one vote-process
// test 2,000: a dedupe key per vote), and every SCAN of that Redis (the alert evaluator's) got slower.
import { Redis } from 'ioredis';

/** Unlinks every key under `prefix`; returns how many. */
export async function deleteKeysUnder(redis: Redis, prefix: string): Promise<number> {
  if (!/^[A-Za-z0-9_:-]+$/.test(prefix)) throw new Error(`not a plain key prefix: ${prefix}`); // no glob characters
  let deleted = 0;
  for await (const keys of redis.scanStream({ match: `${prefix}*`, count: 1000 })) {
    if ((keys as string[]).length > 0) deleted += await redis.unlink(...(keys as string[]));
  }
  return deleted;
}

/** The same through a connection of its own, for when the owner's client is already closed. */
export async function deleteKeysAt(url: string, prefix: string): Promise<number> {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await redis.connect();
    return await deleteKeysUnder(redis, prefix);
  } finally {
    redis.disconnect();
  }
}
