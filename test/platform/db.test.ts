// The database layer: the same JS types from PGlite and pg, and transactions that roll back completely.
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { detectCapabilities, runMigrations } from '../../src/platform/db/migrate.ts';
import { shapes } from '../helpers/shapes.ts';
import { startTestApp, type TestApp } from '../helpers/test-app.ts';

describe.each(shapes)('database layer (%s shape)', (shape) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp(shape);
  });
  afterAll(() => t.close());

  it('returns the same JS types from both drivers', async () => {
    const [row] = await t.platform.db.query<{ n: unknown; big: unknown; bytes: unknown }>(
      "select count(*) as n, 9007199254740993::int8 as big, '\\x0102ff'::bytea as bytes from generate_series(1, 3)",
    );
    expect(row?.n).toBe(3);
    expect(row?.big).toBe('9007199254740993');
    expect(Buffer.isBuffer(row?.bytes)).toBe(true);
    expect([...((row?.bytes as Buffer | undefined) ?? [])]).toEqual([1, 2, 255]);
  });

  it('rolls a failed transaction back completely', async () => {
    await t.platform.db.exec('create table tx_probe (id int primary key)');
    await expect(
      t.platform.db.transaction(async (tx) => {
        await tx.orm.execute(sql`insert into tx_probe values (1)`);
        throw new Error('abort');
      }),
    ).rejects.toThrow('abort');
    const rows = await t.platform.db.query('select * from tx_probe');
    expect(rows).toEqual([]);
    await t.platform.db.transaction(async (tx) => {
      await tx.query('insert into tx_probe values ($1)', [2]);
    });
    expect(await t.platform.db.query('select id from tx_probe')).toEqual([{ id: 2 }]);
  });

  it('applies migrations idempotently and records them', async () => {
    await runMigrations(t.platform.db);
    const [row] = await t.platform.db.query<{ n: number }>('select count(*) as n from drizzle.__drizzle_migrations');
    expect(row?.n).toBeGreaterThanOrEqual(2);
    const tables = await t.platform.db.query<{ table_name: string }>(
      "select table_name from information_schema.tables where table_schema = 'public' and table_name in ('users', 'sessions')",
    );
    expect(tables.map((table) => table.table_name).sort()).toEqual(['sessions', 'users']);
  });

  it('uses the vector extension only where the server has it', async () => {
    const capabilities = await detectCapabilities(t.platform.db);
    const available = await t.platform.db.query("select 1 from pg_available_extensions where name = 'vector'");
    expect(capabilities.vector).toBe(available.length > 0);
    expect(capabilities.trigram).toBe(true);
    if (shape === 'embedded') expect(capabilities.vector).toBe(true);
  });
});
