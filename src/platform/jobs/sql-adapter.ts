// pg-boss talks to a database through `executeSql(text, values)`. This adapter runs it
// inside one of our transactions, so a job is enqueued atomically with the caller's writes
// (and its queue's NOTIFY goes out when that transaction commits). PGlite itself is
// pg-boss's own `fromPglite` adapter.
import type { Transaction } from '../db/database.ts';

export interface SqlExecutor {
  executeSql(text: string, values?: unknown[]): Promise<{ rows: unknown[] }>;
}

export function transactionExecutor(tx: Transaction): SqlExecutor {
  return {
    async executeSql(text, values) {
      return { rows: await tx.query(text, values ?? []) };
    },
  };
}
