// Gives the users who existed before migration 0006 their email skeleton, and their email
// the current normal form. SQL cannot compute a TR39 skeleton, so code does it after the
// migration: every `serve` runs this before it takes requests, `user create` before it
// inserts, and an hourly job catches rows that an older process inserted during a rolling
// deploy. It only touches rows whose skeleton is NULL, so running it again changes nothing.
import type { Logger } from 'pino';
import type { Database, Transaction } from '../../platform/db/database.ts';
import { emailSkeletonHash, normaliseEmail } from './emails.ts';

const BATCH_SIZE = 500;
// Arbitrary, constant across releases; differs from the migration lock.
const BACKFILL_LOCK_KEY = 7_261_646;
const NIL_UUID = '00000000-0000-0000-0000-000000000000';

interface Change {
  id: string;
  email: string;
  skeletonHash: string;
}

export interface BackfillResult {
  updated: number;
  /** Rows left without a skeleton because another account already holds their email or skeleton. */
  conflicts: number;
}

export async function backfillEmailSkeletons(db: Database, log: Logger): Promise<BackfillResult> {
  const result: BackfillResult = { updated: 0, conflicts: 0 };
  // Keyset on id: rows left NULL by a conflict must not be read again in the same run.
  let after = NIL_UUID;
  for (;;) {
    const rows = await db.transaction(async (tx) => {
      // Processes starting together take turns, so they never deadlock on the same rows;
      // the one that comes second finds them done.
      await tx.query('select pg_advisory_xact_lock($1)', [BACKFILL_LOCK_KEY]);
      const batch = await tx.query<{ id: string; email: string }>(
        'select id, email from users where email_skeleton_hash is null and id > $1 order by id limit $2',
        [after, BATCH_SIZE],
      );
      const changes = batch.map((row) => {
        const email = normaliseEmail(row.email);
        return { id: row.id, email, skeletonHash: emailSkeletonHash(email) };
      });
      await applyChanges(tx, changes, result, log);
      return batch;
    });
    if (rows.length < BATCH_SIZE) break;
    after = (rows.at(-1) as { id: string }).id;
  }
  if (result.updated > 0 || result.conflicts > 0) {
    log.info({ event: 'auth.email_skeletons_backfilled', ...result }, 'email skeletons backfilled');
  }
  return result;
}

async function applyChanges(tx: Transaction, changes: Change[], result: BackfillResult, log: Logger): Promise<void> {
  if (changes.length === 0) return;
  // One statement for the batch; only when some row collides is it redone row by row to find which.
  const updated = await underSavepoint(tx, () => update(tx, changes));
  if (updated !== undefined) {
    result.updated += updated;
    return;
  }
  for (const change of changes) {
    const one = await underSavepoint(tx, () => update(tx, [change]));
    if (one !== undefined) {
      result.updated += one;
      continue;
    }
    result.conflicts += 1;
    const [holder] = await tx.query<{ id: string }>(
      'select id from users where (email_skeleton_hash = $1 or email = $2) and id <> $3 limit 1',
      [change.skeletonHash, change.email, change.id],
    );
    log.warn(
      { event: 'auth.email_skeleton_conflict', user_id: change.id, conflicts_with: holder?.id ?? null },
      'an existing account has an email that cannot be told apart from another account: left without a skeleton for an operator to resolve',
    );
  }
}

function update(tx: Transaction, changes: Change[]): Promise<{ id: string }[]> {
  return tx.query<{ id: string }>(
    `update users set email = v.email, email_skeleton_hash = v.skeleton_hash
       from unnest($1::uuid[], $2::text[], $3::text[]) as v(id, email, skeleton_hash)
      where users.id = v.id and users.email_skeleton_hash is null
      returning users.id`,
    [changes.map((change) => change.id), changes.map((change) => change.email), changes.map((change) => change.skeletonHash)],
  );
}

/** The rows a statement changed, or undefined when it hit a unique violation (undone, the transaction goes on). */
async function underSavepoint(tx: Transaction, statement: () => Promise<unknown[]>): Promise<number | undefined> {
  await tx.query('savepoint email_backfill');
  try {
    const rows = await statement();
    await tx.query('release savepoint email_backfill');
    return rows.length;
  } catch (error) {
    if ((error as { code?: unknown }).code !== '23505') throw error;
    await tx.query('rollback to savepoint email_backfill');
    return undefined;
  }
}
