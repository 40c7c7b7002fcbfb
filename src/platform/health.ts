// Liveness and readiness. Components register readiness checks here (database,
// Redis, later the worker heartbeat), so health code never learns about them.
import type { FastifyInstance } from 'fastify';

export interface ReadinessCheck {
  name: string;
  /**
   * Resolves when healthy; throws (or times out) when not. Resolving to 'degraded' reports a
   * component that works on a fallback (an open circuit served in-process): ready, but said.
   */
  // biome-ignore lint/suspicious/noConfusingVoidType: the existing checks resolve to nothing; 'degraded' is the one value that says more.
  check: () => Promise<void | 'degraded'>;
  /** A failing non-critical check is reported but keeps the service ready. */
  critical: boolean;
}

export interface ComponentReport {
  status: 'ok' | 'degraded' | 'error';
  latency_ms: number;
}

export interface ReadinessReport {
  status: 'ready' | 'not_ready';
  checks: Record<string, ComponentReport>;
}

export class ReadinessRegistry {
  readonly #checks: ReadinessCheck[] = [];
  readonly #timeoutMs: number;
  readonly #onFailure: (name: string, error: unknown) => void;

  constructor(timeoutMs: number, onFailure: (name: string, error: unknown) => void) {
    this.#timeoutMs = timeoutMs;
    this.#onFailure = onFailure;
  }

  register(check: ReadinessCheck): void {
    this.#checks.push(check);
  }

  #shuttingDown = false;

  /**
   * From now on not ready, whatever the checks say, with a `shutdown` component in error: a
   * draining server tells its load balancer to send its traffic elsewhere.
   */
  shutDown(): void {
    this.#shuttingDown = true;
  }

  async evaluate(): Promise<ReadinessReport> {
    const results = await Promise.all(this.#checks.map(async (item) => [item, await this.#run(item)] as const));
    const checks: Record<string, ComponentReport> = {};
    let ready = true;
    for (const [item, report] of results) {
      checks[item.name] = report;
      if (report.status === 'error' && item.critical) ready = false;
    }
    if (this.#shuttingDown) {
      checks.shutdown = { status: 'error', latency_ms: 0 };
      ready = false;
    }
    return { status: ready ? 'ready' : 'not_ready', checks };
  }

  async #run(item: ReadinessCheck): Promise<ComponentReport> {
    const started = performance.now();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${item.name} check timed out after ${this.#timeoutMs} ms`)), this.#timeoutMs);
    });
    try {
      const outcome = await Promise.race([item.check(), timeout]);
      return { status: outcome === 'degraded' ? 'degraded' : 'ok', latency_ms: Math.round(performance.now() - started) };
    } catch (error) {
      this.#onFailure(item.name, error);
      return { status: 'error', latency_ms: Math.round(performance.now() - started) };
    } finally {
      clearTimeout(timer);
    }
  }
}

const componentSchema = {
  type: 'object',
  required: ['status', 'latency_ms'],
  properties: { status: { type: 'string', enum: ['ok', 'degraded', 'error'] }, latency_ms: { type: 'integer' } },
} as const;

const readinessSchema = {
  type: 'object',
  required: ['status', 'checks'],
  properties: {
    status: { type: 'string', enum: ['ready', 'not_ready'] },
    checks: { type: 'object', additionalProperties: componentSchema },
  },
} as const;

export function registerHealthRoutes(app: FastifyInstance, registry: ReadinessRegistry): void {
  app.get(
    '/health/live',
    {
      schema: {
        summary: 'The process is up',
        response: { 200: { type: 'object', required: ['status'], properties: { status: { type: 'string', enum: ['live'] } } } },
      },
    },
    async () => ({ status: 'live' as const }),
  );
  app.get(
    '/health/ready',
    { schema: { summary: 'Dependencies answer', response: { 200: readinessSchema, 503: readinessSchema } } },
    async (_request, reply) => {
      const report = await registry.evaluate();
      reply.header('cache-control', 'no-store');
      return reply.code(report.status === 'ready' ? 200 : 503).send(report);
    },
  );
}
