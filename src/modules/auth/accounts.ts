// Creating accounts: the email rules (normal form, look-alikes, invisible characters), the
// password policy and the Argon2id hash, then one insert. Registration and `rampart user
// create` share it; the CLI builds only this, not the session and rate-limit machinery.
import type { Logger } from 'pino';
import type { AuthConfig } from '../../config.ts';
import type { Database } from '../../platform/db/database.ts';
import { AppError } from '../../platform/errors.ts';
import { backfillEmailSkeletons } from './email-backfill.ts';
import { registrableEmail } from './emails.ts';
import { assertAcceptablePassword, PasswordHasher } from './passwords.ts';
import { AuthRepo, type Role, type UserRow } from './repo.ts';

export interface NewAccount {
  email: string;
  password: string;
  displayName: string;
  role: Role;
}

export class Accounts {
  readonly #db: Database;
  readonly #repo: AuthRepo;
  readonly #hasher: PasswordHasher;
  readonly #logger: Logger;
  #skeletonsBackfilled: Promise<unknown> | undefined;

  constructor(db: Database, repo: AuthRepo, hasher: PasswordHasher, logger: Logger) {
    this.#db = db;
    this.#repo = repo;
    this.#hasher = hasher;
    this.#logger = logger;
  }

  /**
   * Gives pre-0006 rows their email skeleton, once per process, before this process
   * registers anyone: until then a look-alike of an old address would not collide.
   */
  ensureEmailSkeletons(): Promise<unknown> {
    this.#skeletonsBackfilled ??= this.backfill(this.#logger).catch((error: unknown) => {
      this.#skeletonsBackfilled = undefined; // a database hiccup must not leave registration unchecked for good
      throw error;
    });
    return this.#skeletonsBackfilled;
  }

  /** Backfills email skeletons (email-backfill.ts); cached sessions of the accounts it touches are dropped. */
  backfill(log: Logger): Promise<unknown> {
    return this.#repo.changingUsers(() => backfillEmailSkeletons(this.#db, log));
  }

  /** Creates an account; 409 when the email, or one that looks the same, is taken. */
  async create(input: NewAccount): Promise<UserRow> {
    const { email, skeletonHash } = registrableEmail(input.email);
    assertAcceptablePassword(input.password, 'body.password');
    await this.ensureEmailSkeletons();
    const passwordHash = await this.#hasher.hash(input.password);
    // A look-alike gets the taken-email answer word for word: a different one would tell
    // an attacker which look-alikes exist.
    const user = await this.#repo.insertUser({
      email,
      emailSkeletonHash: skeletonHash,
      displayName: input.displayName.trim(),
      passwordHash,
      role: input.role,
    });
    if (!user) throw new AppError('CONFLICT', 'An account with this email already exists');
    return user;
  }
}

/** Account creation alone, for a process that does nothing else (`rampart user create`). */
export function createAccounts(db: Database, config: AuthConfig, logger: Logger): Accounts {
  return new Accounts(db, new AuthRepo(db.orm), new PasswordHasher(config), logger);
}
