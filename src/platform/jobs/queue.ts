// Durable jobs on pg-boss in both shapes: typed definitions with retries (exponential
// backoff), a dead-letter queue, expiry so a dead worker's job runs again, enqueueing
// inside the caller's transaction, and the request id carried into the job's logs.
import type { PGlite } from '@electric-sql/pglite';
import { fromPglite, type Job, type JobResult, PgBoss } from 'pg-boss';
import type { Logger } from 'pino';
import type { Database, Transaction } from '../db/database.ts';
import { AppError } from '../errors.ts';
import { keysetPage } from '../http/keyset.ts';
import type { Metrics } from '../observability/metrics.ts';
import { JobErrorBoundary } from './error-boundary.ts';
import { transactionExecutor } from './sql-adapter.ts';

export const JOB_SCHEMA = 'pgboss';
const REQUEST_ID_FIELD = '_request_id';
const DEFAULT_RETRY_LIMIT = 3;

export interface JobContext {
  id: string;
  attempt: number;
  /** The request that caused this job (or the job id when none did); pass it on to jobs this one enqueues. */
  requestId: string;
  log: Logger;
  /**
   * Aborted when the job fails while its handler still runs (an error thrown from one of
   * its callbacks): long handlers pass it on (stream.pipeline) or check it before writing,
   * so a failed attempt stops instead of overlapping its retry.
   */
  signal: AbortSignal;
}

export interface JobDefinition<Data extends object> {
  type: string;
  /** What it resolves to is kept as the job's output (visible in the admin API). */
  handler(data: Data, job: JobContext): Promise<unknown>;
  retryLimit?: number;
  /** First retry delay; later ones double (with jitter). */
  retryDelaySeconds?: number;
  /** A job active longer than this is taken as lost (its worker died) and retried. */
  expireInSeconds?: number;
  /** Housekeeping: also run on this cron schedule (UTC). */
  cron?: string;
}

/** pg-boss job states, as the admin and import routes report them. */
export const JOB_STATES = ['created', 'retry', 'active', 'completed', 'cancelled', 'failed'] as const;

export interface JobSummary {
  id: string;
  type: string;
  state: string;
  attempts: number;
  retry_limit: number;
  created_at: string;
  started_at: string | null;
  completed_at: string | null;
  output: unknown;
}

export interface JobQueueOptions {
  db: Database;
  databaseUrl: string | undefined;
  logger: Logger;
  /** How often idle workers look for jobs while LISTEN/NOTIFY is unavailable. */
  pollingIntervalSeconds: number;
  /** With LISTEN/NOTIFY, a new job wakes its workers at once; this backstop poll finds retries coming due. */
  notifyPollingIntervalSeconds: number;
  batchSize: number;
  /** A job of this process started, completed or failed an attempt (the `jobs` realtime topic). */
  onStateChange?(change: JobStateChange, requestId: string): void;
  /** Attempts by type and state, their durations and dead letters (rampart_jobs_*). */
  metrics?: Pick<Metrics, 'jobChanged' | 'jobDeadLettered'>;
  /** A job failed its last attempt (error reporting). */
  onFinalFailure?(error: unknown, job: { requestId: string; jobType: string; jobId: string }): void;
}

export interface JobStateChange {
  id: string;
  type: string;
  state: 'active' | 'completed' | 'failed';
  attempt: number;
}

export class JobQueue {
  readonly #options: JobQueueOptions;
  readonly #boss: PgBoss;
  readonly #definitions = new Map<string, JobDefinition<object>>();
  readonly #boundary: JobErrorBoundary;
  #started = false;

  constructor(options: JobQueueOptions) {
    this.#options = options;
    // LISTEN/NOTIFY: a job enqueued (in any process) wakes the workers of its queue when the
    // enqueueing transaction commits, so idle workers need not poll every queue every few
    // seconds; an idle embedded `serve` spent most of its idle CPU on those polls (README, "Jobs").
    // PGlite delivers notifications in-process; on Postgres pg-boss holds one listening connection.
    // Two of pg-boss's own loops run far more often than this service needs: the flow
    // (job dependencies) pass, unused here, every 5 s, and the cron sender every 5 s for
    // housekeeping that is hourly at most. Each is a statement or two per tick on every process.
    const common = { schema: JOB_SCHEMA, useListenNotify: true, flowIntervalSeconds: 60, cronWorkerIntervalSeconds: 30 };
    this.#boss = options.databaseUrl
      ? new PgBoss({ ...common, connectionString: options.databaseUrl, max: 4 })
      : new PgBoss({ ...common, db: fromPglite(options.db.driver as PGlite), backend: 'pglite' });
    this.#boss.on('error', (error) => options.logger.error({ err: error }, 'job queue error'));
    this.#boundary = new JobErrorBoundary(options.logger);
  }

  define<Data extends object>(definition: JobDefinition<Data>): void {
    if (this.#started) throw new Error(`job type ${definition.type} defined after the queue started`);
    this.#definitions.set(definition.type, definition as unknown as JobDefinition<object>);
  }

  /** Creates pg-boss's schema and every defined queue (with its dead-letter queue). */
  async start(): Promise<void> {
    await this.#boss.start();
    for (const definition of this.#definitions.values()) {
      const deadLetter = `${definition.type}.dead`;
      await this.#boss.createQueue(deadLetter);
      await this.#boss.createQueue(definition.type, {
        retryLimit: definition.retryLimit ?? DEFAULT_RETRY_LIMIT,
        retryDelay: definition.retryDelaySeconds ?? 2,
        retryBackoff: true,
        retryDelayMax: 300,
        expireInSeconds: definition.expireInSeconds ?? 300,
        deadLetter,
        notify: true,
      });
      // A queue created before notifications were on keeps its row: turn them on there too.
      await this.#boss.updateQueue(definition.type, { notify: true });
      if (definition.cron) await this.#boss.schedule(definition.type, definition.cron);
    }
    this.#started = true;
  }

  /** Runs the handlers of every defined type in this process. */
  async work(): Promise<void> {
    this.#boundary.install();
    for (const definition of this.#definitions.values()) {
      // pg-boss waits a whole polling interval between fetches unless a fetch comes back
      // full, so one job per fetch would cap a worker at one job per interval. Batches with
      // per-job results keep each job's own outcome, retries and output.
      await this.#boss.work<Record<string, unknown>>(
        definition.type,
        {
          pollingIntervalSeconds: this.#options.pollingIntervalSeconds,
          notifyPollingIntervalSeconds: this.#options.notifyPollingIntervalSeconds,
          batchSize: this.#options.batchSize,
          burstWhenBatchFull: true,
          perJobResults: true,
        },
        async (jobs) => {
          const results: JobResult[] = [];
          for (const job of jobs) results.push(await this.#runJob(definition, job));
          return results;
        },
      );
    }
  }

  async #runJob(definition: JobDefinition<object>, job: Job<Record<string, unknown>>): Promise<JobResult> {
    const { [REQUEST_ID_FIELD]: requestId, ...data } = job.data ?? {};
    const cause = typeof requestId === 'string' ? requestId : job.id;
    const log = this.#options.logger.child({ request_id: cause, job_id: job.id, job_type: definition.type });
    log.info('job started');
    const attempt = job.retryCount ?? 0;
    const { metrics } = this.#options;
    const started = performance.now();
    const changed = (state: JobStateChange['state']) => {
      this.#options.onStateChange?.({ id: job.id, type: definition.type, state, attempt }, cause);
      metrics?.jobChanged(definition.type, state, state === 'active' ? undefined : (performance.now() - started) / 1000);
    };
    changed('active');
    try {
      const output = await this.#boundary.run((signal) => definition.handler(data, { id: job.id, attempt, requestId: cause, log, signal }));
      log.info('job completed');
      changed('completed');
      return { id: job.id, status: 'completed', output };
    } catch (error) {
      log.warn({ err: error }, 'job failed; pg-boss retries it with backoff until its retry limit');
      // Outputs are shown to users (an import's status) and admins: an AppError's message
      // is written for them; anything else stays in the log, found by its request id.
      const message = error instanceof AppError ? error.message : `The job failed; its log lines carry request id ${cause}`;
      changed('failed');
      if (attempt >= (definition.retryLimit ?? DEFAULT_RETRY_LIMIT)) {
        metrics?.jobDeadLettered(definition.type);
        this.#options.onFinalFailure?.(error, { requestId: cause, jobType: definition.type, jobId: job.id });
      }
      return { id: job.id, status: 'failed', output: { message } };
    }
  }

  /**
   * Enqueues inside `tx`: the job exists exactly when the caller's transaction commits.
   * `requestId` (the HTTP request's, or the enqueueing job's) tags every log line of the job.
   */
  async enqueue(tx: Transaction, type: string, data: object, requestId?: string): Promise<string> {
    if (!this.#definitions.has(type)) throw new Error(`unknown job type ${type}`);
    const payload = { ...data, [REQUEST_ID_FIELD]: requestId ?? null };
    const id = await this.#boss.send(type, payload, { db: transactionExecutor(tx) });
    if (!id) throw new Error(`job ${type} was not enqueued`);
    return id;
  }

  async stop(): Promise<void> {
    // Unfinished jobs go back to the queue (graceful stop waits for handlers, then releases the rest).
    try {
      await this.#boss.stop({ graceful: true, timeout: 5_000 });
    } finally {
      this.#boundary.uninstall();
    }
  }

  async list(filter: {
    state?: string;
    type?: string;
    limit: number;
    before?: { createdAt: string; id: string };
  }): Promise<{ jobs: JobSummary[]; nextCursor: string | null }> {
    const rows = await this.#options.db.query<Record<string, unknown>>(
      `select id, name, state::text as state, retry_count, retry_limit, created_on, started_on, completed_on, output, created_on::text as position
         from ${JOB_SCHEMA}.job
        where ($1::text is null or state::text = $1) and ($2::text is null or name = $2)
          and ($3::text is null or (created_on, id) < ($3::timestamptz, $4::uuid))
        order by created_on desc, id desc
        limit $5`,
      [filter.state ?? null, filter.type ?? null, filter.before?.createdAt ?? null, filter.before?.id ?? null, filter.limit + 1],
    );
    const { page, nextCursor } = keysetPage(rows, filter.limit, (row) => [String(row.position), String(row.id)]);
    return { jobs: page.map(toSummary), nextCursor };
  }

  async get(id: string): Promise<JobSummary & { data: unknown }> {
    const [row] = await this.#options.db.query<Record<string, unknown>>(
      `select id, name, state::text as state, retry_count, retry_limit, created_on, started_on, completed_on, output, data from ${JOB_SCHEMA}.job where id = $1`,
      [id],
    );
    if (!row) throw new AppError('NOT_FOUND', 'No such job');
    return { ...toSummary(row), data: row.data };
  }

  async retry(id: string): Promise<void> {
    const job = await this.get(id);
    if (job.state !== 'failed' && job.state !== 'cancelled')
      throw new AppError('CONFLICT', `Only failed or cancelled jobs can be retried (this one is ${job.state})`);
    // pg-boss names the two: retry a failed job, resume a cancelled one.
    if (job.state === 'failed') await this.#boss.retry(job.type, id);
    else await this.#boss.resume(job.type, id);
  }

  async cancel(id: string): Promise<void> {
    const job = await this.get(id);
    if (!['created', 'retry', 'active'].includes(job.state))
      throw new AppError('CONFLICT', `Only pending or active jobs can be cancelled (this one is ${job.state})`);
    await this.#boss.cancel(job.type, id);
  }
}

function iso(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  return new Date(value as string).toISOString();
}

function toSummary(row: Record<string, unknown>): JobSummary {
  return {
    id: String(row.id),
    type: String(row.name),
    state: String(row.state),
    attempts: Number(row.retry_count),
    retry_limit: Number(row.retry_limit),
    created_at: iso(row.created_on) as string,
    started_at: iso(row.started_on),
    completed_at: iso(row.completed_on),
    output: row.output ?? null,
  };
}
