// Accounts and sessions: registration, login with brute-force limits, session
// validation with sliding expiry, revocation, password change, and user administration.
import { AppError } from '../../platform/errors.ts';
import { decodeCursor, isTimestampText, isUuid, keysetPage } from '../../platform/http/keyset.ts';
import type { RequestContext } from '../../platform/http/request-context.ts';
import type { Platform } from '../../platform/platform.ts';
import { rateLimitedError, reservePoint } from '../../platform/security/rate-limiters.ts';
import { Accounts } from './accounts.ts';
import { normaliseEmail } from './emails.ts';
import { assertAcceptablePassword, PasswordHasher } from './passwords.ts';
import { AuthRepo, type Role, type SessionRow, sessionExpiry, type UserRow } from './repo.ts';
import { SessionCache, type SessionCacheSync } from './session-cache.ts';
import { generateSessionToken, hashSessionToken, isWellFormedToken } from './tokens.ts';

export interface Authenticated {
  user: UserRow;
  session: SessionRow;
}

// A session's idle expiry moves at most once a minute, so reads do not all become writes.
const TOUCH_INTERVAL_MS = 60_000;

export class AuthService {
  readonly #repo: AuthRepo;
  readonly #hasher: PasswordHasher;
  readonly #platform: Platform;
  readonly #sessionCache: SessionCache;
  readonly #failuresByAccountIp;
  readonly #failuresByIp;
  readonly #registrationsByIp;
  readonly accounts: Accounts;

  constructor(platform: Platform) {
    this.#platform = platform;
    const { config } = platform;
    const sync: SessionCacheSync =
      config.databaseUrl === undefined
        ? { kind: 'local' }
        : platform.redis
          ? { kind: 'redis', redis: platform.redis, channel: `${config.redisKeyPrefix}auth:sessions-changed`, logger: platform.logger }
          : { kind: 'none' };
    this.#sessionCache = new SessionCache(config.auth.sessionCacheMs, sync);
    this.#repo = new AuthRepo(platform.db.orm, this.#sessionCache);
    this.#hasher = new PasswordHasher(platform.config.auth);
    this.accounts = new Accounts(platform.db, this.#repo, this.#hasher, platform.logger);
    const limits = platform.config.rateLimits;
    this.#failuresByAccountIp = platform.rateLimiters.create({
      name: 'login-account-ip',
      points: limits.loginPerAccountIp,
      durationSeconds: limits.loginPerAccountIpWindowS,
      blockSeconds: limits.loginPerAccountIpWindowS,
    });
    this.#failuresByIp = platform.rateLimiters.create({
      name: 'login-ip',
      points: limits.loginPerIp,
      durationSeconds: limits.loginPerIpWindowS,
      blockSeconds: limits.loginPerIpWindowS,
    });
    this.#registrationsByIp = platform.rateLimiters.create({
      name: 'register-ip',
      points: limits.registrationsPerIpPerHour,
      durationSeconds: 3600,
    });
  }

  /** Where requests are authenticated (`serve`): hears other processes' session changes (scale shape). */
  startSessionSync(): void {
    this.#sessionCache.start();
  }

  stopSessionSync(): Promise<void> {
    return this.#sessionCache.stop();
  }

  /** Housekeeping: expired sessions are refused anyway; this keeps the table small. */
  deleteExpiredSessions(): Promise<number> {
    return this.#repo.deleteExpiredSessions(new Date());
  }

  async register(input: { email: string; password: string; displayName: string }, context: RequestContext): Promise<UserRow> {
    // Registration answers 409 for a taken email, so it sits behind its own per-IP limit
    // to keep enumeration through it as slow as through login.
    const over = await reservePoint(this.#registrationsByIp, context.ip);
    if (over) throw rateLimitedError(over);
    return this.accounts.create({ ...input, role: 'user' });
  }

  async login(
    input: { email: string; password: string },
    context: RequestContext,
  ): Promise<{ user: UserRow; token: string; session: SessionRow }> {
    const email = normaliseEmail(input.email);
    const accountIpKey = `${email}|${context.ip}`;
    await this.#reserveLoginAttempt(email, accountIpKey, context);
    let user: UserRow | undefined;
    let valid: boolean;
    try {
      // Both paths wait for the dummy hash on a process's first login, so neither is slower.
      await this.#hasher.prepareDummy();
      user = await this.#repo.findUserByEmail(email);
      // An unknown email burns a dummy verification, so it spends its reserved point too.
      valid = user ? await this.#hasher.verify(user.passwordHash, input.password) : await this.#hasher.verifyDummy(input.password);
    } catch (error) {
      // Nothing was verified (the database or the hasher failed): an outage must not lock people out.
      await this.#releaseLoginAttempt(accountIpKey, context.ip).catch(() => {});
      throw error;
    }
    if (!user || !valid) {
      // The reserved points stay spent: they are the failure count.
      this.#platform.metrics.login('failed');
      context.log.info({ event: 'auth.login_failed', user_id: user?.id ?? null, ip: context.ip }, 'login failed');
      throw new AppError('BAD_CREDENTIALS', 'Invalid email or password');
    }
    // A success clears the account+IP counter and is no failure of the address either.
    await Promise.all([this.#failuresByAccountIp.delete(accountIpKey), this.#failuresByIp.reward(context.ip)]);
    if (!user.active) {
      this.#platform.metrics.login('inactive');
      context.log.info({ event: 'auth.login_inactive', user_id: user.id, ip: context.ip }, 'login to a deactivated account');
      throw new AppError('INACTIVE_ACCOUNT', 'This account is deactivated');
    }
    if (this.#hasher.needsRehash(user.passwordHash)) {
      await this.#repo.updateUser(user.id, { passwordHash: await this.#hasher.hash(input.password) });
      context.log.info({ event: 'auth.password_rehashed', user_id: user.id }, 'password rehashed with current parameters');
    }
    const { token, session } = await this.#openSession(user.id, context);
    this.#platform.metrics.login('succeeded');
    context.log.info({ event: 'auth.login_succeeded', user_id: user.id, ip: context.ip, session_id: session.id }, 'login succeeded');
    return { user, token, session };
  }

  /**
   * Spends one point of each login limit before Argon2id runs. consume is one atomic
   * step in memory and in Redis, so however many attempts race, at most the limit's
   * worth get through to a verification; a check-then-count would let them all pass the
   * check before any failure is counted.
   */
  async #reserveLoginAttempt(email: string, accountIpKey: string, context: RequestContext): Promise<void> {
    const byAccount = await reservePoint(this.#failuresByAccountIp, accountIpKey);
    const byIp = byAccount ? undefined : await reservePoint(this.#failuresByIp, context.ip);
    // Refused by the address limit: this attempt verifies nothing, so it is no failure of the account.
    if (byIp) await this.#failuresByAccountIp.reward(accountIpKey);
    const blocked = byAccount ?? byIp;
    if (!blocked) return;
    this.#platform.metrics.login('locked_out');
    context.log.warn(
      { event: 'auth.login_locked_out', email_hash: hashSessionToken(email).slice(0, 16), ip: context.ip },
      'login rate limited',
    );
    throw rateLimitedError(blocked, 'Too many failed logins; try again later');
  }

  async #releaseLoginAttempt(accountIpKey: string, ip: string): Promise<void> {
    await Promise.all([this.#failuresByAccountIp.reward(accountIpKey), this.#failuresByIp.reward(ip)]);
  }

  async #openSession(userId: string, context: RequestContext): Promise<{ token: string; session: SessionRow }> {
    const { sessionIdleTtlMs, sessionAbsoluteTtlMs } = this.#platform.config.auth;
    const now = Date.now();
    const token = generateSessionToken();
    const absoluteExpiresAt = new Date(now + sessionAbsoluteTtlMs);
    const idleExpiresAt = new Date(Math.min(now + sessionIdleTtlMs, absoluteExpiresAt.getTime()));
    const session = await this.#repo.insertSession({
      tokenHash: hashSessionToken(token),
      userId,
      idleExpiresAt,
      absoluteExpiresAt,
      ip: context.ip,
      userAgent: context.userAgent?.slice(0, 512) ?? null,
    });
    return { token, session };
  }

  /** The user and session behind a token, or undefined when it is unknown, expired or its account is deactivated. */
  async authenticate(token: string): Promise<Authenticated | undefined> {
    if (!isWellFormedToken(token)) return undefined;
    const found = await this.#repo.findSessionWithUser(hashSessionToken(token));
    if (!found) return undefined;
    const now = Date.now();
    const { session, user } = found;
    if (sessionExpiry(session).getTime() <= now || !user.active) {
      await this.#repo.deleteSession(session.id);
      this.#platform.realtime.endSessions([session.id]);
      return undefined;
    }
    const idleTtl = this.#platform.config.auth.sessionIdleTtlMs;
    if (now - session.lastSeenAt.getTime() >= TOUCH_INTERVAL_MS) {
      const idleExpiresAt = new Date(Math.min(now + idleTtl, session.absoluteExpiresAt.getTime()));
      await this.#repo.touchSession(session.id, idleExpiresAt);
      session.idleExpiresAt = idleExpiresAt;
      session.lastSeenAt = new Date(now);
    }
    return { user, session };
  }

  async logout(session: SessionRow): Promise<void> {
    await this.#repo.deleteSession(session.id);
    this.#platform.realtime.endSessions([session.id]);
  }

  /** For the realtime gateway: which of these sessions still stand, until when, and their account's role now. */
  async liveSessions(sessionIds: readonly string[]): Promise<Map<string, { expiresAt: Date; role: Role }>> {
    const live = new Map<string, { expiresAt: Date; role: Role }>();
    // Bounded batches: a process may hold thousands of sockets.
    for (let start = 0; start < sessionIds.length; start += 1_000) {
      const rows = await this.#repo.liveSessions(sessionIds.slice(start, start + 1_000), new Date());
      for (const row of rows) live.set(row.id, { expiresAt: sessionExpiry(row), role: row.role });
    }
    return live;
  }

  listSessions(auth: Authenticated): Promise<SessionRow[]> {
    return this.#repo.listSessions(auth.user.id, new Date());
  }

  async revokeSession(auth: Authenticated, sessionId: string, context: RequestContext): Promise<void> {
    if (!(await this.#repo.deleteSession(sessionId, auth.user.id))) throw new AppError('NOT_FOUND', 'No such session');
    this.#platform.realtime.endSessions([sessionId]);
    context.log.info({ event: 'auth.session_revoked', user_id: auth.user.id, session_id: sessionId }, 'session revoked');
  }

  async revokeOtherSessions(auth: Authenticated, context: RequestContext): Promise<number> {
    const revoked = await this.#repo.deleteSessionsOfUser(auth.user.id, auth.session.id);
    this.#platform.realtime.endSessions(revoked);
    context.log.info({ event: 'auth.sessions_revoked', user_id: auth.user.id, revoked: revoked.length }, 'other sessions revoked');
    return revoked.length;
  }

  async changePassword(
    auth: Authenticated,
    input: { currentPassword: string; newPassword: string },
    context: RequestContext,
  ): Promise<number> {
    const key = `${auth.user.email}|${context.ip}`;
    // Reserved before Argon2id, as at login: parallel guesses with a stolen session get the limit's worth.
    const blocked = await reservePoint(this.#failuresByAccountIp, key);
    if (blocked) throw rateLimitedError(blocked, 'Too many failed password attempts; try again later');
    if (!(await this.#hasher.verify(auth.user.passwordHash, input.currentPassword))) {
      context.log.info(
        { event: 'auth.password_change_failed', user_id: auth.user.id, ip: context.ip },
        'password change with a wrong password',
      );
      throw new AppError('BAD_CREDENTIALS', 'Current password is wrong');
    }
    await this.#failuresByAccountIp.reward(key);
    assertAcceptablePassword(input.newPassword, 'body.new_password');
    await this.#repo.updateUser(auth.user.id, { passwordHash: await this.#hasher.hash(input.newPassword) });
    const revoked = await this.#repo.deleteSessionsOfUser(auth.user.id, auth.session.id);
    this.#platform.realtime.endSessions(revoked);
    context.log.info(
      { event: 'auth.password_changed', user_id: auth.user.id, ip: context.ip, sessions_revoked: revoked.length },
      'password changed',
    );
    return revoked.length;
  }

  async listUsers(limit: number, cursor?: string): Promise<{ users: UserRow[]; nextCursor: string | null }> {
    const [createdAt, id] = cursor ? decodeCursor(cursor, [isTimestampText, isUuid]) : [];
    const rows = await this.#repo.listUsers(limit + 1, createdAt && id ? { createdAt, id } : undefined);
    const { page, nextCursor } = keysetPage(rows, limit, (row) => [row.position, row.user.id]);
    return { users: page.map((row) => row.user), nextCursor };
  }

  async updateUser(
    admin: Authenticated,
    userId: string,
    change: { active?: boolean; role?: Role },
    context: RequestContext,
  ): Promise<UserRow> {
    if (userId === admin.user.id && (change.active === false || change.role === 'user')) {
      throw new AppError('CONFLICT', 'An admin cannot deactivate or demote their own account');
    }
    const before = await this.#repo.findUserById(userId);
    if (!before) throw new AppError('NOT_FOUND', 'No such user');
    const after = (await this.#repo.updateUser(userId, change)) as UserRow;
    if (change.active === false) this.#platform.realtime.endSessions(await this.#repo.deleteSessionsOfUser(userId));
    if (change.role !== undefined && change.role !== before.role) {
      context.log.info(
        { event: 'auth.role_changed', user_id: userId, by: admin.user.id, from: before.role, to: change.role },
        'role changed',
      );
    }
    if (change.active !== undefined && change.active !== before.active) {
      context.log.info(
        { event: change.active ? 'auth.user_reactivated' : 'auth.user_deactivated', user_id: userId, by: admin.user.id },
        'account state changed',
      );
    }
    return after;
  }
}
