// The gateway's contract with the rest of the service: who holds a connection (the
// accounts module tells), the limits it enforces (config.ts), and the counts it exposes.
import type { FastifyRequest } from 'fastify';
import type { RealtimeConfig } from '../../config.ts';

/** Who holds a connection, as the accounts module established it at the upgrade. */
export interface RealtimeIdentity {
  userId: string;
  role: string;
  sessionId: string;
  expiresAt: Date;
}

/** The accounts module's side of the gateway: the upgrade's caller, and whether sessions still stand. */
export interface RealtimeAuthenticator {
  /** Throws the AppError the upgrade is refused with (401, 403 CSRF_REJECTED). */
  authenticateUpgrade(request: FastifyRequest): Promise<RealtimeIdentity>;
  /** The sessions of these ids that still stand, with their expiry and their account's role now. */
  liveSessions(sessionIds: readonly string[]): Promise<Map<string, { expiresAt: Date; role: string }>>;
}

/** The limits the gateway enforces: config.ts's WS_* settings, documented there and in the README. */
export type RealtimeLimits = RealtimeConfig;

export interface GatewayStats {
  connections: number;
  subscriptions: number;
  topics: number;
  accounts: number;
  sessions: number;
  /** Timers the gateway holds: one expiry timer per connection, and the heartbeat while any is open. */
  timers: number;
  /** Socket listeners the gateway added and has not yet removed. */
  listeners: number;
  slowConsumersClosed: number;
  missedPongs: number;
  overCapacityRefused: number;
  messagesReceived: number;
  eventsSent: number;
}
