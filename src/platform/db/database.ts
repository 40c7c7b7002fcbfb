// Opens the one database of either shape (PGlite in DATA_DIR, or a pg Pool on
// DATABASE_URL) behind a single interface with Drizzle on top.
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { pg_trgm } from '@electric-sql/pglite/contrib/pg_trgm';
import { vector } from '@electric-sql/pglite-pgvector';
import { drizzle as drizzlePg } from 'drizzle-orm/node-postgres';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import pg from 'pg';
import type { Logger } from 'pino';
import { primeNextTick } from './next-tick-priming.ts';
import { OID_BYTEA, OID_INT8, parseBytea, parseInt8 } from './type-parsers.ts';

// biome-ignore lint/suspicious/noExplicitAny: both drivers' Drizzle types meet only at this shape.
export type Orm = PgDatabase<PgQueryResultHKT, any>;

/** One database transaction: Drizzle on it, and raw SQL for libraries (pg-boss) that must join it. */
export interface Transaction {
  readonly orm: Orm;
  query<Row = Record<string, unknown>>(text: string, params?: unknown[]): Promise<Row[]>;
}

export interface Database {
  readonly kind: 'pglite' | 'postgres';
  readonly orm: Orm;
  /** One parameterised statement; rows come back with normalised types. */
  query<Row = Record<string, unknown>>(text: string, params?: unknown[]): Promise<Row[]>;
  /** Several statements without parameters (DDL, scripts). */
  exec(text: string): Promise<void>;
  /** Runs fn in one transaction: committed when it resolves, rolled back when it throws. */
  transaction<T>(fn: (tx: Transaction) => Promise<T>): Promise<T>;
  /** Cheapest round trip that proves the database answers. */
  ping(): Promise<void>;
  close(): Promise<void>;
  /** The PGlite instance (embedded) or the pg Pool (scale), for libraries that need the raw driver. */
  readonly driver: PGlite | pg.Pool;
}

export interface OpenDatabaseOptions {
  databaseUrl?: string | undefined;
  /** Embedded shape: a directory, or undefined for an in-memory database (tests). */
  dataDir?: string | undefined;
  poolMax?: number;
  logger: Logger;
}

export async function openDatabase(options: OpenDatabaseOptions): Promise<Database> {
  return options.databaseUrl ? openPostgres(options.databaseUrl, options) : openPglite(options);
}

async function openPglite(options: OpenDatabaseOptions): Promise<Database> {
  await primeNextTick();
  const client = await PGlite.create(options.dataDir ? join(options.dataDir, 'pg') : undefined, {
    extensions: { vector, pg_trgm },
    parsers: { [OID_INT8]: parseInt8, [OID_BYTEA]: parseBytea },
  });
  const orm = drizzlePglite({ client }) as unknown as Orm;
  return {
    kind: 'pglite',
    orm,
    driver: client,
    async query<Row>(text: string, params: unknown[] = []) {
      return (await client.query<Row>(text, params)).rows;
    },
    async exec(text: string) {
      await client.exec(text);
    },
    transaction: (fn) =>
      client.transaction((raw) =>
        fn({
          // Drizzle runs its queries through the PGlite transaction object, which has the client's query API.
          orm: drizzlePglite({ client: raw as unknown as PGlite }) as unknown as Orm,
          query: async <Row>(text: string, params: unknown[] = []) => (await raw.query<Row>(text, params)).rows,
        }),
      ),
    async ping() {
      await client.query('select 1');
    },
    close: () => client.close(),
  };
}

async function openPostgres(databaseUrl: string, options: OpenDatabaseOptions): Promise<Database> {
  const pool = new pg.Pool({
    connectionString: databaseUrl,
    max: options.poolMax ?? 10,
    connectionTimeoutMillis: 2_000,
    idleTimeoutMillis: 30_000,
    types: {
      getTypeParser: ((oid: number, format?: 'text' | 'binary') => {
        if (oid === OID_INT8) return parseInt8;
        return pg.types.getTypeParser(oid, format);
      }) as typeof pg.types.getTypeParser,
    },
  });
  // An idle client losing its server must not crash the process; the next query reconnects.
  pool.on('error', (error) => options.logger.warn({ err: error }, 'idle database connection lost'));
  const orm = drizzlePg({ client: pool }) as unknown as Orm;
  await pool.query('select 1');
  return {
    kind: 'postgres',
    orm,
    driver: pool,
    async query<Row>(text: string, params: unknown[] = []) {
      return (await pool.query(text, params)).rows as Row[];
    },
    async exec(text: string) {
      await pool.query(text);
    },
    async transaction(fn) {
      const client = await pool.connect();
      // The pool listens for errors only on idle clients: a server lost while this one is
      // checked out between two queries would be an unhandled 'error' that ends the process
      // (seen under `npm run chaos -- postgres`). The next query fails instead, and the
      // broken client is destroyed on release rather than handed to the next caller.
      let lost: Error | undefined;
      const onError = (error: Error) => {
        lost = error;
      };
      client.on('error', onError);
      try {
        await client.query('begin');
        const result = await fn({
          orm: drizzlePg({ client }) as unknown as Orm,
          query: async <Row>(text: string, params: unknown[] = []) => (await client.query(text, params)).rows as Row[],
        });
        await client.query('commit');
        return result;
      } catch (error) {
        await client.query('rollback').catch(() => {});
        throw error;
      } finally {
        client.off('error', onError);
        client.release(lost);
      }
    },
    async ping() {
      await pool.query('select 1');
    },
    close: () => pool.end(),
  };
}
