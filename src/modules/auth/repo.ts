// Database access of the accounts module: users and sessions, nothing else.
import { and, asc, desc, eq, gt, inArray, lt, ne, sql } from 'drizzle-orm';
import type { Orm } from '../../platform/db/database.ts';
import { sessions, users } from './schema.ts';

export type UserRow = typeof users.$inferSelect;
export type SessionRow = typeof sessions.$inferSelect;
export type Role = UserRow['role'];
/** When a session ends: its idle or its absolute expiry, whichever comes first. */
export function sessionExpiry(session: Pick<SessionRow, 'idleExpiresAt' | 'absoluteExpiresAt'>): Date {
  return session.idleExpiresAt < session.absoluteExpiresAt ? session.idleExpiresAt : session.absoluteExpiresAt;
}

export interface SessionWithUser {
  session: SessionRow;
  user: UserRow;
}

/** What the repo asks of the session cache (session-cache.ts). */
export interface SessionReads {
  read(tokenHash: string, load: () => Promise<SessionWithUser | undefined>): Promise<SessionWithUser | undefined>;
  /** Runs a write to users or sessions: nothing cached survives it, in any process. */
  writing<T>(write: () => Promise<T>): Promise<T>;
}

export class AuthRepo {
  readonly #db: Orm;
  readonly #sessions: SessionReads | undefined;
  // Every authenticated request runs this one: built once (Drizzle's query builder costs
  // more per call than the query itself, bench/reads.ts), and a named statement on Postgres.
  readonly #findSession;

  /** Without `sessionCache` every lookup reads the database (`rampart user create` needs none). */
  constructor(db: Orm, sessionCache?: SessionReads) {
    this.#db = db;
    this.#sessions = sessionCache;
    this.#findSession = db
      .select({ session: sessions, user: users })
      .from(sessions)
      .innerJoin(users, eq(users.id, sessions.userId))
      .where(eq(sessions.tokenHash, sql.placeholder('tokenHash')))
      .limit(1)
      .prepare('auth_find_session');
  }

  /** Every write to users or sessions runs inside this: a cached session could be stale after it. */
  #changing<T>(write: () => Promise<T>): Promise<T> {
    return this.#sessions ? this.#sessions.writing(write) : write();
  }

  /** For the one writer of users outside this repo (the email backfill's batch SQL). */
  changingUsers<T>(write: () => Promise<T>): Promise<T> {
    return this.#changing(write);
  }

  /** Undefined when the email or its skeleton is taken (one statement, so racing registrations cannot both win). */
  async insertUser(values: {
    email: string;
    emailSkeletonHash: string;
    displayName: string;
    passwordHash: string;
    role: Role;
  }): Promise<UserRow | undefined> {
    const rows = await this.#db.insert(users).values(values).onConflictDoNothing().returning();
    return rows[0];
  }

  async findUserByEmail(email: string): Promise<UserRow | undefined> {
    return (await this.#db.select().from(users).where(eq(users.email, email)).limit(1))[0];
  }

  async findUserById(id: string): Promise<UserRow | undefined> {
    return (await this.#db.select().from(users).where(eq(users.id, id)).limit(1))[0];
  }

  async updateUser(id: string, values: Partial<Pick<UserRow, 'passwordHash' | 'role' | 'active'>>): Promise<UserRow | undefined> {
    const rows = await this.#changing(() =>
      this.#db
        .update(users)
        .set({ ...values, updatedAt: sql`now()` })
        .where(eq(users.id, id))
        .returning(),
    );
    return rows[0];
  }

  /**
   * Users in creation order, keyset-paged on (created_at, id). The position travels as
   * Postgres text because JS dates drop the microseconds and would repeat rows.
   */
  async listUsers(limit: number, after?: { createdAt: string; id: string }): Promise<{ user: UserRow; position: string }[]> {
    const where = after ? sql`(${users.createdAt}, ${users.id}) > (${after.createdAt}::timestamptz, ${after.id}::uuid)` : undefined;
    return this.#db
      .select({ user: users, position: sql<string>`${users.createdAt}::text` })
      .from(users)
      .where(where)
      .orderBy(asc(users.createdAt), asc(users.id))
      .limit(limit);
  }

  async insertSession(values: {
    tokenHash: string;
    userId: string;
    idleExpiresAt: Date;
    absoluteExpiresAt: Date;
    ip: string | null;
    userAgent: string | null;
  }): Promise<SessionRow> {
    const rows = await this.#db.insert(sessions).values(values).returning();
    return rows[0] as SessionRow;
  }

  async findSessionWithUser(tokenHash: string): Promise<SessionWithUser | undefined> {
    const load = async () => (await this.#findSession.execute({ tokenHash }))[0];
    return this.#sessions ? this.#sessions.read(tokenHash, load) : load();
  }

  /** Moves the idle expiry only; the caller updates the session object it holds (cached or not) to match. */
  async touchSession(id: string, idleExpiresAt: Date): Promise<void> {
    await this.#db.update(sessions).set({ lastSeenAt: sql`now()`, idleExpiresAt }).where(eq(sessions.id, id));
  }

  async listSessions(userId: string, now: Date): Promise<SessionRow[]> {
    return this.#db
      .select()
      .from(sessions)
      .where(and(eq(sessions.userId, userId), gt(sessions.idleExpiresAt, now), gt(sessions.absoluteExpiresAt, now)))
      .orderBy(desc(sessions.lastSeenAt));
  }

  async deleteSession(id: string, userId?: string): Promise<boolean> {
    const where = userId ? and(eq(sessions.id, id), eq(sessions.userId, userId)) : eq(sessions.id, id);
    return (await this.#changing(() => this.#db.delete(sessions).where(where).returning({ id: sessions.id }))).length > 0;
  }

  /** Deletes the user's sessions except `keepId`; returns the ids that went (their sockets close). */
  async deleteSessionsOfUser(userId: string, keepId?: string): Promise<string[]> {
    const where = keepId ? and(eq(sessions.userId, userId), ne(sessions.id, keepId)) : eq(sessions.userId, userId);
    const rows = await this.#changing(() => this.#db.delete(sessions).where(where).returning({ id: sessions.id }));
    return rows.map((row) => row.id);
  }

  /** Of these sessions, the ones still valid at `now` whose account is active: expiry and the account's role. */
  async liveSessions(
    ids: readonly string[],
    now: Date,
  ): Promise<{ id: string; idleExpiresAt: Date; absoluteExpiresAt: Date; role: Role }[]> {
    return this.#db
      .select({ id: sessions.id, idleExpiresAt: sessions.idleExpiresAt, absoluteExpiresAt: sessions.absoluteExpiresAt, role: users.role })
      .from(sessions)
      .innerJoin(users, eq(users.id, sessions.userId))
      .where(
        and(inArray(sessions.id, [...ids]), eq(users.active, true), gt(sessions.idleExpiresAt, now), gt(sessions.absoluteExpiresAt, now)),
      );
  }

  async deleteExpiredSessions(now: Date): Promise<number> {
    const expired = sql`${lt(sessions.idleExpiresAt, now)} or ${lt(sessions.absoluteExpiresAt, now)}`;
    return (await this.#changing(() => this.#db.delete(sessions).where(expired).returning({ id: sessions.id }))).length;
  }
}
