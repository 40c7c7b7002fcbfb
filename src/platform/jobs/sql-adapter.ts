// pg-boss talks to a database through `executeSql(text, values)`. These adapters let it
// run on PGlite (parameterised SQL to `query`, multi-statement SQL to `exec`) and inside
// one of our transactions, so a job is enqueued atomically with the caller's writes.
import type { PGlite } from '@electric-sql/pglite';
import type { Transaction } from '../db/database.ts';

export interface SqlExecutor {
  executeSql(text: string, values?: unknown[]): Promise<{ rows: unknown[] }>;
}

export function pgliteExecutor(client: PGlite): SqlExecutor {
  return {
    async executeSql(text, values) {
      if (values && values.length > 0) return { rows: (await client.query(text, values)).rows };
      // pg-boss reads rows from every statement of a multi-statement query (e.g. a lock row before its claim).
      const results = await client.exec(text);
      return { rows: results.flatMap((result) => result.rows) };
    },
  };
}

export function transactionExecutor(tx: Transaction): SqlExecutor {
  return {
    async executeSql(text, values) {
      return { rows: await tx.query(text, values ?? []) };
    },
  };
}
