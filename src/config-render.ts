// The render module's settings (DESIGN.md, "Render"): parsed and validated like every
// other setting, kept apart so config.ts stays one readable file; README "Configuration"
// has a row for each.
import { byteSize, ConfigError, type Env, integer, read, url } from './config-values.ts';

export interface RenderConfig {
  maxBytes: number; // MAX_RENDER_SIZE: larger is 413
  timeoutMs: number; // per render; past it the worker is replaced, 504 TIMEOUT
  threads: number; // 0: one per core
  cacheBytes: number; // the in-process cache's bound
  port: number; // `rampart render` listens here
  token: string | undefined; // the shared secret (Bearer) between the API and `rampart render`
  url: string | undefined; // the `rampart render` service; unset: in-process only
  remoteTimeoutMs: number; // per call to the service, then a failure (and an in-process render)
  breakerFailures: number; // consecutive failures that open the circuit
  breakerCooldownMs: number; // open this long, then one call tries (half-open)
}

export function renderConfig(env: Env): RenderConfig {
  const token = read(env, 'RENDER_TOKEN');
  if (token !== undefined && token.length < 32) throw new ConfigError('RENDER_TOKEN', 'must be at least 32 characters (a random secret)');
  const renderUrl = url(env, 'RENDER_URL', ['http:', 'https:']);
  if (renderUrl !== undefined && token === undefined) throw new ConfigError('RENDER_TOKEN', 'must be set when RENDER_URL is set');
  return {
    maxBytes: byteSize(env, 'MAX_RENDER_SIZE', 256 * 1024),
    timeoutMs: integer(env, 'RENDER_TIMEOUT_MS', 2_000, 10, 600_000),
    threads: integer(env, 'RENDER_THREADS', 0, 0, 256),
    cacheBytes: byteSize(env, 'RENDER_CACHE_SIZE', 32 * 1024 * 1024, 0),
    port: integer(env, 'RENDER_PORT', 3100, 0, 65535),
    token,
    url: renderUrl,
    remoteTimeoutMs: integer(env, 'RENDER_REMOTE_TIMEOUT_MS', 3_000, 10, 600_000),
    breakerFailures: integer(env, 'RENDER_BREAKER_FAILURES', 5, 1, 1_000),
    breakerCooldownMs: integer(env, 'RENDER_BREAKER_COOLDOWN_MS', 10_000, 100, 3_600_000),
  };
}
