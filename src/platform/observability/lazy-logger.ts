// A logger that creates its pino child only when a line is actually written.
// Fastify makes a child logger for every request; most requests log nothing at warn
// level, and creating a pino child per request cost about a fifth of the throughput
// of a small route (bench/edge.ts). Fastify gets a lazy root as its logger instance
// rather than a childLoggerFactory: a custom factory makes Fastify re-validate every
// request's child, which the default factory (`logger.child`) skips.
import type { FastifyBaseLogger } from 'fastify';
import type { Bindings, ChildLoggerOptions, Logger } from 'pino';
import pino from 'pino';

const { serializersSym } = pino.symbols;

type Level = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace';

export class LazyLogger {
  readonly #parent: Logger | LazyLogger;
  readonly #bindings: Bindings;
  readonly #options: ChildLoggerOptions;
  #logger: Logger | undefined;

  constructor(parent: Logger | LazyLogger, bindings: Bindings = {}, options: ChildLoggerOptions = {}) {
    this.#parent = parent;
    this.#bindings = bindings;
    this.#options = options;
  }

  /**
   * Fastify reads a logger's serializers here and lets them win over its own defaults, so
   * ours (logger.ts: database errors without their parameters) stay in force on request lines.
   */
  get [serializersSym](): unknown {
    return (this.#parent as unknown as Record<symbol, unknown>)[serializersSym];
  }

  /** The pino logger this stands for, created on first use. */
  materialise(): Logger {
    if (this.#logger === undefined) {
      const parent = this.#parent instanceof LazyLogger ? this.#parent.materialise() : this.#parent;
      this.#logger = parent.child(this.#bindings, this.#options);
    }
    return this.#logger;
  }

  #write(level: Level, args: unknown[]): void {
    // Disabled levels never pay for the child.
    if (!this.isLevelEnabled(level)) return;
    (this.materialise()[level] as (...line: unknown[]) => void)(...args);
  }

  fatal(...args: unknown[]): void {
    this.#write('fatal', args);
  }
  error(...args: unknown[]): void {
    this.#write('error', args);
  }
  warn(...args: unknown[]): void {
    this.#write('warn', args);
  }
  info(...args: unknown[]): void {
    this.#write('info', args);
  }
  debug(...args: unknown[]): void {
    this.#write('debug', args);
  }
  trace(...args: unknown[]): void {
    this.#write('trace', args);
  }
  silent(): void {}

  get level(): string {
    return this.#logger?.level ?? this.#options.level ?? this.#parent.level;
  }

  set level(value: string) {
    this.materialise().level = value;
  }

  isLevelEnabled(level: string): boolean {
    // A child with a level of its own (a route's logLevel) decides by that level.
    if (this.#logger === undefined && this.#options.level === undefined) return this.#parent.isLevelEnabled(level);
    return this.materialise().isLevelEnabled(level);
  }

  child(bindings: Bindings, options?: ChildLoggerOptions): LazyLogger {
    return new LazyLogger(this, bindings, options);
  }
}

/** The logger instance to give Fastify: every child it makes (one per request) is lazy. */
export function lazyRootLogger(logger: Logger): FastifyBaseLogger {
  return new LazyLogger(logger) as unknown as FastifyBaseLogger;
}
