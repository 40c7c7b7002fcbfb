// The render service, the module's API for routes and other modules (documents): checks
// the size, answers from the caches (in-process LRU; Redis too in the scale shape), else
// renders in the worker pool, or through the `rampart render` service when one is configured.
import { createHash } from 'node:crypto';
import { type Redis, ReplyError } from 'ioredis';
import type { RenderConfig } from '../../config.ts';
import { ByteBoundedCache } from '../../platform/bounded-cache.ts';
import { AppError } from '../../platform/errors.ts';
import { renderKey } from './cache.ts';
import { RenderPool } from './pool.ts';
import { RENDERER_VERSION, type RenderTask } from './renderer.ts';

export type { RenderTask } from './renderer.ts';

/** Rendering somewhere else (the `rampart render` service), falling back to `local` when it cannot. */
export interface RemoteRenderer {
  render(task: RenderTask, local: () => Promise<string>): Promise<string>;
  /** The circuit breaker's state, for readiness and metrics. */
  state(): BreakerState;
}

export type BreakerState = 'closed' | 'open' | 'half-open';

/** How long a rendering stays in Redis (the key holds the renderer version, so a new version misses). */
const REDIS_TTL_SECONDS = 24 * 60 * 60;

/** Redis unreachable: the cache misses; Redis answering with an error is a bug and surfaces. */
function missOnOutage(error: unknown): undefined {
  if (error instanceof ReplyError) throw error;
  return undefined;
}

export interface RenderServiceOptions {
  /** The scale shape's Redis: a cache shared by every API process. */
  redis?: { client: Redis; keyPrefix: string } | undefined;
  remote?: RemoteRenderer | undefined;
}

export class RenderService {
  /** Part of every ETag of rendered HTML (a short hash of the renderer version): a new renderer changes the representation. */
  readonly versionTag = createHash('sha256').update(RENDERER_VERSION).digest('hex').slice(0, 12);
  readonly #config: RenderConfig;
  readonly #pool: RenderPool;
  readonly #cache: ByteBoundedCache;
  readonly #redis: RenderServiceOptions['redis'];
  readonly #remote: RemoteRenderer | undefined;

  constructor(config: RenderConfig, options: RenderServiceOptions = {}) {
    this.#config = config;
    this.#pool = new RenderPool({ threads: config.threads, timeoutMs: config.timeoutMs });
    this.#cache = new ByteBoundedCache(config.cacheBytes);
    this.#redis = options.redis;
    this.#remote = options.remote;
  }

  /** Sanitized HTML of a Markdown text; `abandoned` drops it if its caller leaves before it starts. */
  markdown(text: string, abandoned?: AbortSignal): Promise<string> {
    return this.render({ kind: 'markdown', text }, abandoned);
  }

  /** Sanitized, highlighted HTML of a whole code document (an unknown language: plain escaped code). */
  code(text: string, language: string | null, abandoned?: AbortSignal): Promise<string> {
    return this.render({ kind: 'code', text, language }, abandoned);
  }

  /** 413 past MAX_RENDER_SIZE, 504 past the time limit. */
  async render(task: RenderTask, abandoned?: AbortSignal): Promise<string> {
    this.assertFits(Buffer.byteLength(task.text, 'utf8'));
    const key = renderKey(task);
    const cached = this.#cache.get(key) ?? (await this.#redisGet(key));
    if (cached !== undefined) {
      this.#cache.set(key, cached);
      return cached;
    }
    const html = await this.renderUncached(task, abandoned);
    this.#cache.set(key, html);
    await this.#redisSet(key, html);
    return html;
  }

  /** 413 past MAX_RENDER_SIZE: a stored document's size is checked before its text is read. */
  assertFits(bytes: number): void {
    if (bytes > this.#config.maxBytes) {
      throw new AppError('PAYLOAD_TOO_LARGE', `Rendering takes at most ${this.#config.maxBytes} bytes (this is ${bytes})`);
    }
  }

  /** Renders without looking at or filling the caches (the `rampart render` service's own path). */
  renderUncached(task: RenderTask, abandoned?: AbortSignal): Promise<string> {
    const local = () => this.#pool.run(task, { abandoned });
    return this.#remote ? this.#remote.render(task, local) : local();
  }

  /** Readiness: `degraded` while the remote service's circuit is open (rendering in-process). */
  async readiness(): Promise<'degraded' | undefined> {
    return this.#remote && this.#remote.state() !== 'closed' ? 'degraded' : undefined;
  }

  get pool(): RenderPool {
    return this.#pool;
  }

  get cacheStats(): { entries: number; bytes: number } {
    return this.#cache.stats;
  }

  async close(): Promise<void> {
    await this.#pool.close();
  }

  async #redisGet(key: string): Promise<string | undefined> {
    if (!this.#redis) return undefined;
    const html = await this.#redis.client.get(`${this.#redis.keyPrefix}render:${key}`).catch(missOnOutage);
    return html ?? undefined;
  }

  async #redisSet(key: string, html: string): Promise<void> {
    if (!this.#redis) return;
    await this.#redis.client.set(`${this.#redis.keyPrefix}render:${key}`, html, 'EX', REDIS_TTL_SECONDS).catch(missOnOutage);
  }
}
