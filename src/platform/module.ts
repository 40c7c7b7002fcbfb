// The module contract (DESIGN.md, "The module contract"): a module is a value, built once
// by the composition root (modules/index.ts), that declares everything it contributes;
// each role runs only the parts it needs. Building a module starts nothing: routes are
// registered, jobs defined and loops started by the roles (src/roles/).
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ReadinessCheck } from './health.ts';
import type { JobDefinition } from './jobs/queue.ts';
import type { RealtimeAuthenticator } from './realtime/contract.ts';

/** A long-running consumer or evaluator (the vote consumer, the alert evaluator). */
export interface Loop {
  name: string;
  start(): Promise<void>;
  /** Finishes the work in hand (acknowledges the current batch), then resolves. */
  stop(): Promise<void>;
}

/** Who may subscribe to the topics under a prefix (`polls:`); the realtime gateway asks. */
export interface TopicDefinition {
  prefix: string;
  maySubscribe(subscriber: { userId: string; role: string }, topic: string): Promise<boolean>;
}

export interface Module {
  name: string;
  /** Its routes under /api/v1: `serve`. */
  routes?(api: FastifyInstance): Promise<void>;
  /** Its job types: defined by every role that enqueues or runs jobs. */
  jobs?: JobDefinition<never>[];
  /** Its long-running loops: `worker`, and `serve` with IN_PROCESS_WORKER. */
  loops?: Loop[];
  /** Its realtime topics: `serve` (the gateway). */
  topics?: TopicDefinition[];
  /** Checks added to /health/ready: every role. */
  readiness?: ReadinessCheck[];
  /** Who opens a WebSocket and whether their session still stands: the accounts module's, for the gateway (`serve`). */
  authenticator?: RealtimeAuthenticator;
  /** Whose HTTP request this is, when it carries valid credentials: the accounts module's, for RATE_LIMIT_EXEMPT_ACCOUNTS. */
  identifyAccount?(request: FastifyRequest): Promise<string | undefined>;
}
