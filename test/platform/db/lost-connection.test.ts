// A Postgres connection lost in the middle of a transaction (scale shape, through a TCP
// relay that is cut): the transaction fails with an error, the process does not crash on
// an unhandled 'error' event, and the next query works once the server is back.
import { describe, expect, it } from 'vitest';
import { openDatabase } from '../../../src/platform/db/database.ts';
import { createLogger } from '../../../src/platform/observability/logger.ts';
import { createTestDatabase, testDatabaseUrl } from '../../helpers/shapes.ts';
import { startTcpProxy } from '../../helpers/tcp-proxy.ts';

describe.runIf(testDatabaseUrl)('a database connection lost mid-transaction (Postgres)', () => {
  it('fails that transaction and keeps the process and the pool usable', async () => {
    const database = await createTestDatabase();
    const url = new URL(database.url);
    const relay = await startTcpProxy(url.hostname, Number(url.port || 5432));
    url.port = String(relay.port);
    const db = await openDatabase({ databaseUrl: url.toString(), logger: createLogger('silent') });
    try {
      const outcome = db.transaction(async (tx) => {
        await tx.query('select 1');
        // The server goes away while the transaction holds its connection between two
        // queries: pg emits 'error' on that client with no query to fail.
        await relay.cut();
        await new Promise((resolve) => setTimeout(resolve, 300));
        await tx.query('select 2');
      });
      await expect(outcome).rejects.toThrow();
      await relay.restore();
      expect(await db.query<{ n: number }>('select 3 as n')).toEqual([{ n: 3 }]);
    } finally {
      await db.close();
      await relay.close();
      await database.drop();
    }
  });
});
