// The two deployment shapes under test. Scale-shape tests run only when
// TEST_DATABASE_URL and TEST_REDIS_URL are set, each test file on a database of its own.
import { randomBytes } from 'node:crypto';
import pg from 'pg';

export type ShapeName = 'embedded' | 'scale';

/** The Postgres server for scale-shape tests; the documents bench uses it without Redis. */
export const testDatabaseUrl = process.env.TEST_DATABASE_URL || undefined;

export const scaleUrls =
  testDatabaseUrl && process.env.TEST_REDIS_URL ? { database: testDatabaseUrl, redis: process.env.TEST_REDIS_URL } : undefined;

/** Shapes for `describe.each`: embedded always, scale when configured. */
export const shapes: ShapeName[] = scaleUrls ? ['embedded', 'scale'] : ['embedded'];

export interface TestDatabase {
  url: string;
  drop(): Promise<void>;
}

/** A brand-new database on the test server; dropped (with its connections) afterwards. */
export async function createTestDatabase(): Promise<TestDatabase> {
  if (!testDatabaseUrl) throw new Error('createTestDatabase needs TEST_DATABASE_URL');
  const name = `rampart_t_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: testDatabaseUrl });
  await admin.connect();
  try {
    await admin.query(`create database ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(testDatabaseUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const client = new pg.Client({ connectionString: testDatabaseUrl });
      await client.connect();
      try {
        await client.query(`drop database if exists ${name} with (force)`);
      } finally {
        await client.end();
      }
    },
  };
}
