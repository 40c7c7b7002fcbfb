// The process's Prometheus metrics (prom-client, one registry per process): every family
// DESIGN.md lists, behind small recorders that callers use without knowing prom-client.

import { Counter, collectDefaultMetrics, Gauge, Histogram, type Metric, Registry } from 'prom-client';
import { isDependencyUnavailable } from '../errors.ts';
import { RequestDurations } from './request-durations.ts';

/** The route label of every request that matched no route: a scanner cannot add labels. */
export const UNMATCHED_ROUTE = 'unmatched';

export type LoginOutcome = 'succeeded' | 'failed' | 'inactive' | 'locked_out';
export type CircuitState = 'closed' | 'half_open' | 'open';
export type JobAttemptState = 'active' | 'completed' | 'failed';
const CIRCUIT_STATES: readonly CircuitState[] = ['closed', 'half_open', 'open'];

export interface PoolStats {
  max: number;
  total: number;
  idle: number;
  waiting: number;
}

export interface MetricsOptions {
  /** The database pool now (undefined: the embedded shape's single PGlite connection). */
  poolStats?: () => PoolStats;
  /** Readiness now, per component (rampart_readiness_component_up), evaluated at scrape time. */
  readiness?: () => Promise<{ checks: Record<string, { status: 'ok' | 'degraded' | 'error' }> }>;
  /** Node's default metrics (process, heap, event loop, GC); default true. */
  defaultMetrics?: boolean;
}

/** The WebSocket gateway's figures; the gateway calls these, nothing else does. */
export interface RealtimeMetrics {
  connectionOpened(): void;
  connectionClosed(): void;
  messageReceived(): void;
  messageSent(count?: number): void;
  /** A connection closed by the server: `slow_consumer`, `over_capacity`, `policy`, `missed_pong`... */
  dropped(reason: string): void;
}

/** The vote stream's figures (the polls module provides them); read at scrape time, never on a vote's path. */
export interface VoteStreamFigures {
  /**
   * This process's counts so far: votes accepted (202), votes answered 503 whose append was sent
   * but never answered (unknown: each may be in the log), and entries applied, rejected,
   * duplicate, claimed, dead-lettered by its consumer.
   */
  counts(): Record<'accepted' | 'unknown' | 'applied' | 'rejected' | 'duplicate' | 'claimed' | 'dead_lettered', number>;
  /** Accepted votes not yet acknowledged (unread or in a consumer's hands), as the vote log counts them. */
  backlog(): Promise<number>;
}

// Seconds: from a fast cached read to the longest time budget's worth.
const HTTP_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const JOB_BUCKETS = [0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300];

export class Metrics {
  readonly registry = new Registry();
  readonly realtime: RealtimeMetrics;
  readonly #httpDurations: RequestDurations;
  readonly #jobs: Counter<'type' | 'state'>;
  readonly #jobDuration: Histogram<'type' | 'outcome'>;
  readonly #deadLettered: Counter<'type'>;
  readonly #rateLimited: Counter<'limiter'>;
  readonly #logins: Counter<'outcome'>;
  readonly #circuits: Gauge<'dependency' | 'state'>;
  readonly #alerts: Gauge<'state'>;

  constructor(options: MetricsOptions = {}) {
    const registers = [this.registry];
    const durations = new RequestDurations(
      'rampart_http_request_duration_seconds',
      'HTTP request duration by route template, method and status',
      HTTP_BUCKETS,
    );
    this.#httpDurations = durations;
    // prom-client renders it; the registry takes any object with its metric contract.
    this.registry.registerMetric(durations as unknown as Metric);
    new Counter({
      name: 'rampart_http_requests_total',
      help: 'HTTP requests by route template, method and status',
      labelNames: ['route', 'method', 'status'] as const,
      registers,
      // The histogram counts every request already; the counter is read from it at scrape time.
      collect() {
        this.reset();
        for (const { labels, count } of durations.counts()) this.inc(labels, count);
      },
    });
    this.#registerPool(options.poolStats);
    const readiness = options.readiness;
    if (readiness) {
      new Gauge({
        name: 'rampart_readiness_component_up',
        help: 'Each /health/ready component as this process sees it: 1 ok, 0 failing',
        labelNames: ['component'] as const,
        registers,
        async collect() {
          const report = await readiness();
          this.reset();
          for (const [component, check] of Object.entries(report.checks)) this.set({ component }, check.status === 'error' ? 0 : 1);
        },
      });
    }
    this.#jobs = new Counter({
      name: 'rampart_jobs_total',
      help: 'Job attempts of this process by job type and state (active: started; completed; failed)',
      labelNames: ['type', 'state'] as const,
      registers,
    });
    this.#jobDuration = new Histogram({
      name: 'rampart_job_duration_seconds',
      help: 'Job attempt duration by job type and outcome',
      labelNames: ['type', 'outcome'] as const,
      buckets: JOB_BUCKETS,
      registers,
    });
    this.#deadLettered = new Counter({
      name: 'rampart_jobs_dead_lettered_total',
      help: 'Jobs that failed their last attempt and went to their dead-letter queue',
      labelNames: ['type'] as const,
      registers,
    });
    this.#rateLimited = new Counter({
      name: 'rampart_rate_limit_rejections_total',
      help: 'Requests or attempts refused by a rate limiter, by limiter',
      labelNames: ['limiter'] as const,
      registers,
    });
    this.#logins = new Counter({
      name: 'rampart_logins_total',
      help: 'Login attempts by outcome',
      labelNames: ['outcome'] as const,
      registers,
    });
    this.#circuits = new Gauge({
      name: 'rampart_circuit_breaker_state',
      help: 'Circuit breaker state per dependency: 1 for the current state, 0 for the others',
      labelNames: ['dependency', 'state'] as const,
      registers,
    });
    this.#alerts = new Gauge({
      name: 'rampart_alerts',
      help: 'Alerts by state, as the alert evaluator last saw them',
      labelNames: ['state'] as const,
      registers,
    });
    this.realtime = this.#registerRealtime();
    if (options.defaultMetrics ?? true) {
      collectDefaultMetrics({ register: this.registry });
      // Gauges named like counters (promtool rejects them); nodejs_active_{handles,requests,resources} remain.
      for (const misnamed of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']) {
        this.registry.removeSingleMetric(misnamed);
      }
    }
  }

  /** One finished HTTP request; `route` is the route template (undefined: no route matched). */
  observeRequest(route: string | undefined, method: string, status: number, seconds: number): void {
    this.#httpDurations.observe(route ?? UNMATCHED_ROUTE, method, status, seconds);
  }

  /** A job attempt started (active), or finished after `seconds`. */
  jobChanged(type: string, state: JobAttemptState, seconds?: number): void {
    this.#jobs.inc({ type, state });
    if (seconds !== undefined) this.#jobDuration.observe({ type, outcome: state }, seconds);
  }

  jobDeadLettered(type: string): void {
    this.#deadLettered.inc({ type });
  }

  rateLimitRejected(limiter: string): void {
    this.#rateLimited.inc({ limiter });
  }

  login(outcome: LoginOutcome): void {
    this.#logins.inc({ outcome });
  }

  circuitBreaker(dependency: string, state: CircuitState): void {
    for (const each of CIRCUIT_STATES) this.#circuits.set({ dependency, state: each }, each === state ? 1 : 0);
  }

  /** How many alerts are pending and firing now (the evaluator sets these). */
  alerts(counts: { pending: number; firing: number }): void {
    this.#alerts.set({ state: 'pending' }, counts.pending);
    this.#alerts.set({ state: 'firing' }, counts.firing);
  }

  /** The vote stream's families; once, by the polls module. */
  trackVoteStream(figures: VoteStreamFigures): void {
    const registers = [this.registry];
    new Counter({
      name: 'rampart_votes_total',
      help: 'Votes by outcome: accepted (202), unknown (503 after the vote log lost the answer) by this process; applied, rejected, duplicate, claimed, dead_lettered by its consumer',
      labelNames: ['outcome'] as const,
      registers,
      collect() {
        this.reset();
        for (const [outcome, count] of Object.entries(figures.counts())) this.inc({ outcome }, count);
      },
    });
    new Gauge({
      name: 'rampart_vote_backlog',
      help: 'Accepted votes not yet applied and acknowledged (the whole vote log; every process reports the same)',
      registers,
      async collect() {
        try {
          this.set(await figures.backlog());
        } catch (error) {
          // The log unreachable: the gauge keeps its last value and the scrape still answers.
          if (!isDependencyUnavailable(error)) throw error;
        }
      },
    });
  }

  /** The render pool's figures; once per render service, read at scrape time. */
  trackRenderPool(figures: () => { running: number; waiting: number; dropped: number }): void {
    const registers = [this.registry];
    new Gauge({
      name: 'rampart_render_tasks',
      help: 'Renders in this process by state: running (on a worker thread), waiting (for one)',
      labelNames: ['state'] as const,
      registers,
      collect() {
        const { running, waiting } = figures();
        this.set({ state: 'running' }, running);
        this.set({ state: 'waiting' }, waiting);
      },
    });
    new Counter({
      name: 'rampart_render_dropped_total',
      help: 'Renders dropped before they started because their caller went away (a client, or the API past RENDER_REMOTE_TIMEOUT_MS)',
      registers,
      collect() {
        this.reset();
        this.inc(figures().dropped);
      },
    });
  }

  /** The exposition: Prometheus' text format. */
  async render(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }

  #registerPool(poolStats: (() => PoolStats) | undefined): void {
    new Gauge({
      name: 'rampart_db_pool_connections',
      help: 'Database pool connections by state (total, idle, waiting clients); the embedded shape has one',
      labelNames: ['state'] as const,
      registers: [this.registry],
      collect() {
        const stats = poolStats?.() ?? { max: 1, total: 1, idle: 1, waiting: 0 };
        this.set({ state: 'total' }, stats.total);
        this.set({ state: 'idle' }, stats.idle);
        this.set({ state: 'waiting' }, stats.waiting);
      },
    });
    new Gauge({
      name: 'rampart_db_pool_max_connections',
      help: 'Database pool size limit',
      registers: [this.registry],
      collect() {
        this.set(poolStats?.().max ?? 1);
      },
    });
  }

  #registerRealtime(): RealtimeMetrics {
    const registers = [this.registry];
    const connections = new Gauge({ name: 'rampart_ws_connections', help: 'Open WebSocket connections', registers });
    const messages = new Counter({
      name: 'rampart_ws_messages_total',
      help: 'WebSocket messages by direction (in: from clients, out: to clients)',
      labelNames: ['direction'] as const,
      registers,
    });
    const drops = new Counter({
      name: 'rampart_ws_drops_total',
      help: 'WebSocket connections closed by the server, by reason (slow_consumer, ...)',
      labelNames: ['reason'] as const,
      registers,
    });
    const received = messages.labels('in');
    const sent = messages.labels('out');
    return {
      connectionOpened: () => connections.inc(),
      connectionClosed: () => connections.dec(),
      messageReceived: () => received.inc(),
      messageSent: (count = 1) => sent.inc(count),
      dropped: (reason) => drops.inc({ reason }),
    };
  }
}
