// The one place the environment is read: every setting is parsed, typed and
// validated here so a bad value stops the process at start-up, not mid-request.
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseEnv } from 'node:util';
import { type RenderConfig, renderConfig } from './config-render.ts';
import { boolean, byteSize, ConfigError, duration, type Env, integer, oneOf, read, secret, url, uuidList } from './config-values.ts';

export type { RenderConfig } from './config-render.ts';
export { ConfigError, redactUrl } from './config-values.ts';
export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
export type NodeEnv = 'development' | 'production' | 'test';
export interface Config {
  host: string;
  port: number;
  nodeEnv: NodeEnv;
  dataDir: string;
  databaseUrl: string | undefined;
  dbPoolMax: number;
  redisUrl: string | undefined;
  redisRequired: boolean;
  /** Namespace of every Redis key, so deployments (or test runs) can share one Redis. */
  redisKeyPrefix: string;
  logLevel: LogLevel;
  /** false, a hop count, or a list of trusted proxy addresses/CIDRs. */
  trustProxy: false | number | string[];
  maxRequestSize: number;
  corsOrigins: string[];
  legacyApi: 'redirect' | 'gone';
  shutdownGraceMs: number;
  /** SIGTERM to close: still serving, not ready, every answer closing its connection (README "Shutdown"). */
  shutdownDrainMs: number;
  healthCheckTimeoutMs: number;
  auth: AuthConfig;
  rateLimits: RateLimitConfig;
  edge: EdgeConfig;
  jobs: JobsConfig;
  uploads: UploadsConfig;
  realtime: RealtimeConfig;
  polls: PollsConfig;
  monitoring: MonitoringConfig;
  render: RenderConfig;
  knowledge: KnowledgeConfig;
}

/** The knowledge base and its embeddings provider (DESIGN.md, "Knowledge base"). */
export interface KnowledgeConfig {
  embeddingsUrl: string | undefined; // an OpenAI-compatible API; unset: the local embedder
  embeddingsModel: string | undefined; // the API's model id (required with the URL)
  embeddingsApiKey: string | undefined; // sent as Bearer; never logged
  embeddingsTimeoutMs: number; // per API call
  embeddingsBatchSize: number; // texts per API call
  embeddingsBreakerFailures: number; // consecutive failures that open the circuit
  embeddingsBreakerCooldownMs: number;
  embeddingsTable: string; // the local embedder's generated table
  maxEntryBytes: number; // an entry's content past this is 413
  chunkChars: number; // target chunk size, with chunkOverlapChars repeated between neighbours
  chunkOverlapChars: number;
  efSearch: number; // HNSW candidate list size (recall vs speed; bench/knowledge.ts measures it)
}

/** The WebSocket gateway's limits (DESIGN.md, "Realtime"). */
export interface RealtimeConfig {
  maxFrameBytes: number;
  maxMessagesPerSecond: number;
  maxSubscriptions: number;
  maxConnectionsPerAccount: number;
  maxConnections: number;
  /** A peer whose unsent data passes this is a slow consumer: closed with 1013. */
  maxBufferedBytes: number;
  pingIntervalMs: number;
  /** Protocol errors (bad JSON, unknown ops, binary frames, rate-limited seconds) before 1008. */
  maxProtocolErrors: number;
}

export interface PollsConfig {
  /** Votes one account may send per minute (its own limit, beside the per-IP ones). */
  votesPerAccountPerMinute: number;
  /** The vote stream's approximate cap (XADD MAXLEN ~): must stay above the worst backlog. */
  streamMaxLength: number;
  /** Entries a consumer reads and applies in one statement. */
  batchSize: number;
  /** How long a consumer's read waits for new entries. */
  blockMs: number;
  /** Entries pending this long with a consumer are claimed by another (XAUTOCLAIM). */
  claimIdleMs: number;
  /** How often a consumer looks for stale entries to claim. */
  claimIntervalMs: number;
  /** An entry delivered more times than this goes to the dead-letter stream. */
  maxDeliveries: number;
  /** How long results are cached (each applied batch invalidates them sooner). */
  resultsCacheMs: number;
  /** At most one realtime count update per poll per this interval. */
  eventsIntervalMs: number;
}

export interface MonitoringConfig {
  /** Sentry DSN: 500s and final job failures are reported; unset, the SDK is not loaded. */
  sentryDsn: string | undefined;
  /** Bearer token /metrics requires; unset: loopback clients only. */
  metricsToken: string | undefined;
  /** A rule file (Prometheus format) loaded after the built-in rules. */
  alertRulesFile: string | undefined;
  /** How often the elected evaluator evaluates the rules (and every process records a snapshot). */
  alertEvalIntervalMs: number;
  /** Alertmanager-format (v4) webhook receivers of firing and resolved alerts. */
  alertWebhookUrls: string[];
  /** HMAC-SHA256 key of the webhook signature; required with receivers. */
  alertWebhookSecret: string | undefined;
  /** A still-firing group is notified again after this long (Alertmanager's repeat_interval). */
  alertRepeatIntervalMs: number;
  /** An existing Alertmanager that also receives firing and resolved alerts (its /api/v2/alerts). */
  alertmanagerUrl: string | undefined;
}

export interface UploadsConfig {
  /** Document bytes live here (DATA_DIR/uploads by default). */
  root: string;
  maxFileBytes: number;
  maxFiles: number;
  maxRequestBytes: number;
  maxArchiveEntries: number;
  /** Decompressed bytes an archive import may produce in all. */
  maxArchiveBytes: number;
  /** The in-process cache of document text by content hash (0: off). */
  contentCacheBytes: number;
  /** How long a process keeps a document row it read (0: off); scale shape: only while it hears writes. */
  rowCacheMs: number;
}

export interface JobsConfig {
  /** Run job handlers inside `serve`. */
  inProcessWorker: boolean;
  heartbeatIntervalMs: number;
  /** /health/ready fails when no worker beat for this long. */
  heartbeatGraceMs: number;
  pollingIntervalSeconds: number;
  notifyPollingIntervalSeconds: number;
  /** Jobs a worker claims per fetch; a full batch means more work, so it fetches again at once. */
  batchSize: number;
  /** `rampart worker` serves /health/live and /health/ready here (HOST); unset: no listener. */
  healthPort: number | undefined;
}

export interface EdgeConfig {
  /** Whole request (headers + body) must arrive within this; slow clients are cut off. */
  requestTimeoutMs: number;
  headersTimeoutMs: number;
  keepAliveTimeoutMs: number;
  /** Time budgets by route kind; over budget answers 504 TIMEOUT. */
  budgets: { read: number; write: number; upload: number; search: number };
  jsonMaxDepth: number;
  /** 0: no shedding on event-loop delay. */
  overloadMaxEventLoopDelayMs: number;
  overloadMaxHeapUsedBytes: number;
}

export interface AuthConfig {
  argon2MemoryKib: number;
  argon2TimeCost: number;
  argon2Parallelism: number;
  sessionIdleTtlMs: number;
  sessionAbsoluteTtlMs: number;
  /** How long a process reuses a validated session without reading it again (0: never); writes invalidate it at once. */
  sessionCacheMs: number;
}

export interface RateLimitConfig {
  loginPerAccountIp: number;
  loginPerAccountIpWindowS: number;
  loginPerIp: number;
  loginPerIpWindowS: number;
  apiPerIpPerMinute: number;
  registrationsPerIpPerHour: number;
  authPerIpPerMinute: number;
  writesPerIpPerMinute: number;
  exemptAccounts: string[];
}

function trustProxy(env: Env): false | number | string[] {
  const raw = read(env, 'TRUST_PROXY');
  if (raw === undefined || raw === 'false' || raw === '0') return false;
  if (/^\d+$/.test(raw)) return integer(env, 'TRUST_PROXY', 0, 0, 10);
  const entries = raw.split(',').map((part) => part.trim());
  const addressOrCidr = /^[0-9a-fA-F.:]+(\/\d{1,3})?$/;
  const bad = entries.find((entry) => !addressOrCidr.test(entry));
  if (bad !== undefined) {
    throw new ConfigError('TRUST_PROXY', `must be false, a hop count, or a comma-separated list of IPs/CIDRs (bad entry "${bad}")`);
  }
  return entries;
}

function corsOrigins(env: Env, nodeEnv: NodeEnv): string[] {
  const raw = read(env, 'CORS_ORIGINS');
  if (raw === undefined) return [];
  const origins = raw
    .split(',')
    .map((part) => part.trim())
    .filter(Boolean);
  for (const origin of origins) {
    if (origin === '*') {
      if (nodeEnv === 'production') throw new ConfigError('CORS_ORIGINS', 'must not contain * in production; list exact origins');
      throw new ConfigError('CORS_ORIGINS', 'must list exact origins; * is not accepted because credentials are allowed');
    }
    let parsed: URL;
    try {
      parsed = new URL(origin);
    } catch {
      throw new ConfigError('CORS_ORIGINS', `must be comma-separated origins like https://app.example.com (bad entry "${origin}")`);
    }
    if (parsed.origin !== origin) {
      throw new ConfigError(
        'CORS_ORIGINS',
        `entries must be bare origins without path or trailing slash (bad entry "${origin}", use "${parsed.origin}")`,
      );
    }
  }
  return origins;
}

// The drain spends the grace period too: the close after it needs some of it left.
function shutdownTimes(env: Env): { shutdownGraceMs: number; shutdownDrainMs: number } {
  const shutdownGraceMs = integer(env, 'SHUTDOWN_GRACE_MS', 10_000, 100, 600_000);
  const shutdownDrainMs = integer(env, 'SHUTDOWN_DRAIN_MS', 0, 0, 600_000);
  if (shutdownDrainMs > shutdownGraceMs / 2)
    throw new ConfigError('SHUTDOWN_DRAIN_MS', `must be at most half of SHUTDOWN_GRACE_MS (${shutdownGraceMs})`);
  return { shutdownGraceMs, shutdownDrainMs };
}

/** pg-boss refuses a backstop poll shorter than the base one (it would poll faster with notifications than without). */
function jobPollingIntervals(env: Env): { pollingIntervalSeconds: number; notifyPollingIntervalSeconds: number } {
  const pollingIntervalSeconds = integer(env, 'JOB_POLL_INTERVAL_SECONDS', 2, 1, 600);
  const notifyPollingIntervalSeconds = integer(env, 'JOB_NOTIFY_POLL_INTERVAL_SECONDS', Math.max(10, pollingIntervalSeconds), 1, 600);
  if (notifyPollingIntervalSeconds < pollingIntervalSeconds)
    throw new ConfigError('JOB_NOTIFY_POLL_INTERVAL_SECONDS', `must be at least JOB_POLL_INTERVAL_SECONDS (${pollingIntervalSeconds})`);
  return { pollingIntervalSeconds, notifyPollingIntervalSeconds };
}

function redisKeyPrefix(env: Env): string {
  const raw = read(env, 'REDIS_KEY_PREFIX') ?? 'rampart:';
  if (!/^[A-Za-z0-9:_.-]{1,64}$/.test(raw)) throw new ConfigError('REDIS_KEY_PREFIX', 'must be 1 to 64 characters of A-Z a-z 0-9 : _ . -');
  return raw;
}

function alertWebhooks(env: Env): { alertWebhookUrls: string[]; alertWebhookSecret: string | undefined } {
  const urls = (read(env, 'ALERT_WEBHOOK_URLS') ?? '')
    .split(',')
    .map((part) => part.trim())
    .filter(Boolean);
  for (const [i, raw] of urls.entries()) url({ [`ALERT_WEBHOOK_URLS[${i}]`]: raw }, `ALERT_WEBHOOK_URLS[${i}]`, ['http:', 'https:']);
  const key = secret(env, 'ALERT_WEBHOOK_SECRET', 16);
  if (urls.length > 0 && key === undefined)
    throw new ConfigError('ALERT_WEBHOOK_SECRET', 'must be set when ALERT_WEBHOOK_URLS is (webhooks are signed)');
  return { alertWebhookUrls: urls, alertWebhookSecret: key };
}

function knowledgeConfig(env: Env): KnowledgeConfig {
  const embeddingsUrl = url(env, 'EMBEDDINGS_URL', ['http:', 'https:']);
  const embeddingsModel = read(env, 'EMBEDDINGS_MODEL');
  if (embeddingsUrl !== undefined && embeddingsModel === undefined)
    throw new ConfigError('EMBEDDINGS_MODEL', 'must be set when EMBEDDINGS_URL is set');
  const chunkChars = integer(env, 'KNOWLEDGE_CHUNK_SIZE', 1_200, 200, 20_000);
  return {
    embeddingsUrl,
    embeddingsModel,
    embeddingsApiKey: read(env, 'EMBEDDINGS_API_KEY'),
    embeddingsTimeoutMs: integer(env, 'EMBEDDINGS_TIMEOUT_MS', 10_000, 50, 600_000),
    embeddingsBatchSize: integer(env, 'EMBEDDINGS_BATCH_SIZE', 64, 1, 2_048),
    embeddingsBreakerFailures: integer(env, 'EMBEDDINGS_BREAKER_FAILURES', 5, 1, 1_000),
    embeddingsBreakerCooldownMs: integer(env, 'EMBEDDINGS_BREAKER_COOLDOWN_MS', 30_000, 100, 3_600_000),
    embeddingsTable: resolve(
      read(env, 'EMBEDDINGS_TABLE') ?? fileURLToPath(new URL('../generated/embeddings/wink-sg100d.bin', import.meta.url)),
    ),
    maxEntryBytes: byteSize(env, 'MAX_KNOWLEDGE_ENTRY_SIZE', 256 * 1024),
    chunkChars,
    chunkOverlapChars: integer(env, 'KNOWLEDGE_CHUNK_OVERLAP', 200, 0, Math.floor(chunkChars / 2)),
    efSearch: integer(env, 'KNOWLEDGE_EF_SEARCH', 200, 10, 1_000),
  };
}

/** Reads `.env` (if present) under the real environment, which always wins. */
export function environmentWithDotEnv(env: Env = process.env, dotEnvPath = resolve('.env')): Env {
  if (!existsSync(dotEnvPath)) return env;
  return { ...parseEnv(readFileSync(dotEnvPath, 'utf8')), ...env };
}

export function loadConfig(env: Env = environmentWithDotEnv()): Config {
  const nodeEnv = oneOf(env, 'NODE_ENV', ['development', 'production', 'test'] as const, 'development');
  const minute = 60_000;
  const day = 24 * 60 * minute;
  return {
    host: read(env, 'HOST') ?? '127.0.0.1',
    port: integer(env, 'PORT', 3000, 0, 65535),
    nodeEnv,
    dataDir: resolve(read(env, 'DATA_DIR') ?? './data'),
    databaseUrl: url(env, 'DATABASE_URL', ['postgres:', 'postgresql:']),
    dbPoolMax: integer(env, 'DB_POOL_MAX', 10, 1, 500),
    redisUrl: url(env, 'REDIS_URL', ['redis:', 'rediss:']),
    redisRequired: boolean(env, 'REDIS_REQUIRED', false),
    redisKeyPrefix: redisKeyPrefix(env),
    logLevel: oneOf(env, 'LOG_LEVEL', ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const, 'info'),
    trustProxy: trustProxy(env),
    maxRequestSize: byteSize(env, 'MAX_REQUEST_SIZE', 1024 * 1024),
    corsOrigins: corsOrigins(env, nodeEnv),
    legacyApi: oneOf(env, 'LEGACY_API', ['redirect', 'gone'] as const, 'redirect'),
    ...shutdownTimes(env),
    healthCheckTimeoutMs: integer(env, 'HEALTH_CHECK_TIMEOUT_MS', 1000, 50, 30_000),
    auth: {
      // OWASP's floor for Argon2id; configurable upward only.
      argon2MemoryKib: integer(env, 'ARGON2_MEMORY_KIB', 19_456, 19_456, 4 * 1024 * 1024),
      argon2TimeCost: integer(env, 'ARGON2_TIME_COST', 2, 2, 20),
      argon2Parallelism: integer(env, 'ARGON2_PARALLELISM', 1, 1, 16),
      sessionIdleTtlMs: integer(env, 'SESSION_IDLE_TTL_MINUTES', 7 * 24 * 60, 5, 365 * 24 * 60) * minute,
      sessionAbsoluteTtlMs: integer(env, 'SESSION_ABSOLUTE_TTL_DAYS', 30, 1, 365) * day,
      sessionCacheMs: integer(env, 'SESSION_CACHE_MS', 10_000, 0, 60_000),
    },
    rateLimits: {
      loginPerAccountIp: integer(env, 'LOGIN_FAILURES_PER_ACCOUNT_IP', 5, 1, 1000),
      loginPerAccountIpWindowS: integer(env, 'LOGIN_FAILURE_WINDOW_SECONDS', 15 * 60, 1, 86_400),
      loginPerIp: integer(env, 'LOGIN_FAILURES_PER_IP_PER_HOUR', 100, 1, 100_000),
      loginPerIpWindowS: 3600,
      apiPerIpPerMinute: integer(env, 'API_RATE_LIMIT_PER_MINUTE', 600, 1, 1_000_000),
      registrationsPerIpPerHour: integer(env, 'REGISTRATIONS_PER_IP_PER_HOUR', 20, 1, 100_000),
      authPerIpPerMinute: integer(env, 'AUTH_RATE_LIMIT_PER_MINUTE', 30, 1, 1_000_000),
      writesPerIpPerMinute: integer(env, 'WRITE_RATE_LIMIT_PER_MINUTE', 120, 1, 1_000_000),
      exemptAccounts: uuidList(env, 'RATE_LIMIT_EXEMPT_ACCOUNTS'),
    },
    uploads: {
      root: resolve(read(env, 'UPLOAD_ROOT') ?? join(read(env, 'DATA_DIR') ?? './data', 'uploads')),
      maxFileBytes: byteSize(env, 'MAX_UPLOAD_FILE_SIZE', 5 * 1024 * 1024),
      maxFiles: integer(env, 'MAX_UPLOAD_FILES', 100, 1, 10_000),
      maxRequestBytes: byteSize(env, 'MAX_UPLOAD_REQUEST_SIZE', 50 * 1024 * 1024),
      maxArchiveEntries: integer(env, 'MAX_ARCHIVE_ENTRIES', 10_000, 1, 1_000_000),
      maxArchiveBytes: byteSize(env, 'MAX_ARCHIVE_UNCOMPRESSED_SIZE', 200 * 1024 * 1024),
      contentCacheBytes: byteSize(env, 'DOCUMENT_CACHE_SIZE', 16 * 1024 * 1024, 0),
      rowCacheMs: integer(env, 'DOCUMENT_ROW_CACHE_MS', 30_000, 0, 300_000),
    },
    polls: {
      votesPerAccountPerMinute: integer(env, 'VOTE_RATE_LIMIT_PER_MINUTE', 30, 1, 1_000_000),
      streamMaxLength: integer(env, 'VOTE_STREAM_MAX_LENGTH', 1_000_000, 1_000, 1_000_000_000),
      batchSize: integer(env, 'VOTE_BATCH_SIZE', 200, 1, 10_000),
      blockMs: integer(env, 'VOTE_BLOCK_MS', 1_000, 10, 60_000),
      claimIdleMs: integer(env, 'VOTE_CLAIM_IDLE_MS', 30_000, 50, 3_600_000),
      claimIntervalMs: integer(env, 'VOTE_CLAIM_INTERVAL_MS', 5_000, 50, 3_600_000),
      maxDeliveries: integer(env, 'VOTE_MAX_DELIVERIES', 5, 1, 1_000),
      resultsCacheMs: integer(env, 'POLL_RESULTS_CACHE_MS', 1_000, 0, 60_000),
      eventsIntervalMs: integer(env, 'POLL_EVENTS_INTERVAL_MS', 250, 50, 60_000),
    },
    render: renderConfig(env),
    knowledge: knowledgeConfig(env),
    jobs: {
      // On by default in both shapes, so `DATABASE_URL=... npm start` alone is a working service;
      // API-only pods beside `rampart worker` processes set it to false.
      inProcessWorker: boolean(env, 'IN_PROCESS_WORKER', true),
      heartbeatIntervalMs: integer(env, 'WORKER_HEARTBEAT_INTERVAL_MS', 5_000, 100, 600_000),
      heartbeatGraceMs: integer(env, 'WORKER_HEARTBEAT_GRACE_MS', 30_000, 200, 3_600_000),
      ...jobPollingIntervals(env),
      batchSize: integer(env, 'JOB_BATCH_SIZE', 5, 1, 100),
      healthPort: read(env, 'WORKER_HEALTH_PORT') === undefined ? undefined : integer(env, 'WORKER_HEALTH_PORT', 0, 0, 65535),
    },
    realtime: {
      maxFrameBytes: byteSize(env, 'WS_MAX_FRAME_SIZE', 16 * 1024),
      maxMessagesPerSecond: integer(env, 'WS_MAX_MESSAGES_PER_SECOND', 20, 1, 10_000),
      maxSubscriptions: integer(env, 'WS_MAX_SUBSCRIPTIONS', 100, 1, 10_000),
      maxConnectionsPerAccount: integer(env, 'WS_MAX_CONNECTIONS_PER_ACCOUNT', 20, 1, 100_000),
      maxConnections: integer(env, 'WS_MAX_CONNECTIONS', 10_000, 1, 1_000_000),
      maxBufferedBytes: byteSize(env, 'WS_MAX_BUFFERED_SIZE', 1024 * 1024),
      pingIntervalMs: integer(env, 'WS_PING_INTERVAL_MS', 30_000, 100, 3_600_000),
      maxProtocolErrors: integer(env, 'WS_MAX_PROTOCOL_ERRORS', 10, 0, 10_000),
    },
    edge: {
      requestTimeoutMs: integer(env, 'REQUEST_TIMEOUT_MS', 30_000, 100, 3_600_000),
      headersTimeoutMs: integer(env, 'HEADERS_TIMEOUT_MS', 10_000, 100, 600_000),
      keepAliveTimeoutMs: integer(env, 'KEEP_ALIVE_TIMEOUT_MS', 72_000, 1_000, 600_000),
      budgets: {
        read: integer(env, 'TIME_BUDGET_READ_MS', 5_000, 10, 600_000),
        write: integer(env, 'TIME_BUDGET_WRITE_MS', 10_000, 10, 600_000),
        upload: integer(env, 'TIME_BUDGET_UPLOAD_MS', 120_000, 10, 3_600_000),
        search: integer(env, 'TIME_BUDGET_SEARCH_MS', 3_000, 10, 600_000),
      },
      jsonMaxDepth: integer(env, 'JSON_MAX_DEPTH', 32, 2, 1_000),
      overloadMaxEventLoopDelayMs: integer(env, 'OVERLOAD_MAX_EVENT_LOOP_DELAY_MS', 1_000, 0, 60_000),
      overloadMaxHeapUsedBytes: byteSize(env, 'OVERLOAD_MAX_HEAP_USED', 0, 0),
    },
    monitoring: {
      metricsToken: secret(env, 'METRICS_TOKEN', 16),
      sentryDsn: url(env, 'SENTRY_DSN', ['http:', 'https:']),
      alertRulesFile: read(env, 'ALERT_RULES_FILE') === undefined ? undefined : resolve(read(env, 'ALERT_RULES_FILE') as string),
      alertEvalIntervalMs: duration(env, 'ALERT_EVAL_INTERVAL', 15_000, 100, 3_600_000),
      ...alertWebhooks(env),
      alertmanagerUrl: url(env, 'ALERTMANAGER_URL', ['http:', 'https:']),
      alertRepeatIntervalMs: duration(env, 'ALERT_REPEAT_INTERVAL', 4 * 3_600_000, 1_000, 30 * 24 * 3_600_000),
    },
  };
}
