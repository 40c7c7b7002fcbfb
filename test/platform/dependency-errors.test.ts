// What a Postgres connection that dies mid-transaction throws, through a real server and a
// relay cut under it: every error the pg client raises then must read as "dependency
// unavailable" (503), never as a bug (500); CI's chaos run once answered an upload 500 there.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isDependencyUnavailable } from '../../src/platform/errors.ts';
import { testDatabaseUrl } from '../helpers/shapes.ts';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.ts';

describe.skipIf(!testDatabaseUrl)('a Postgres connection cut mid-transaction', () => {
  let relay: TcpProxy;
  beforeAll(async () => {
    const target = new URL(testDatabaseUrl as string);
    relay = await startTcpProxy(target.hostname, Number(target.port || 5432));
  });
  afterAll(() => relay.close());

  it('raises only errors that read as the dependency being unavailable', async () => {
    const url = new URL(testDatabaseUrl as string);
    url.hostname = '127.0.0.1';
    url.port = String(relay.port);
    const client = new pg.Client({ connectionString: url.toString() });
    client.on('error', () => {}); // the cut is the point; the queries below carry it
    await client.connect();
    await client.query('begin');
    await relay.cut();
    const errors: unknown[] = [];
    // The statement in flight when the connection goes, the rollback after it, and a later query on the same client.
    for (const sql of ['select pg_sleep(0.2)', 'rollback', 'select 1']) await client.query(sql).catch((error) => errors.push(error));
    await relay.restore();
    expect(errors.length).toBe(3);
    expect(errors.map((error) => (error as Error).message).join(' | ')).toMatch(/not queryable/);
    for (const error of errors) expect(isDependencyUnavailable(error), String(error)).toBe(true);
    await client.end().catch(() => {});
  });
});
