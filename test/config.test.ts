// Configuration: the embedded defaults, parsing, .env under the real environment, and refusals of bad settings.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, environmentWithDotEnv, loadConfig, redactUrl } from '../src/config.ts';

function configError(env: Record<string, string>): ConfigError {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig', () => {
  it('gives the embedded defaults with an empty environment', () => {
    const config = loadConfig({});
    expect(config.port).toBe(3000);
    expect(config.databaseUrl).toBeUndefined();
    expect(config.dataDir).toBe(join(process.cwd(), 'data'));
    expect(config.maxRequestSize).toBe(1024 * 1024);
    expect(config.legacyApi).toBe('redirect');
    expect(config.trustProxy).toBe(false);
    expect(config.shutdownDrainMs).toBe(0);
  });

  it.each([
    [{ PORT: 'abc' }, 'PORT'],
    [{ PORT: '70000' }, 'PORT'],
    [{ NODE_ENV: 'staging' }, 'NODE_ENV'],
    [{ DATABASE_URL: 'mysql://x' }, 'DATABASE_URL'],
    [{ REDIS_URL: 'not a url' }, 'REDIS_URL'],
    [{ LOG_LEVEL: 'loud' }, 'LOG_LEVEL'],
    [{ MAX_REQUEST_SIZE: 'huge' }, 'MAX_REQUEST_SIZE'],
    [{ LEGACY_API: 'maybe' }, 'LEGACY_API'],
    [{ TRUST_PROXY: 'everyone' }, 'TRUST_PROXY'],
    [{ CORS_ORIGINS: 'https://a.example/path' }, 'CORS_ORIGINS'],
    [{ ARGON2_MEMORY_KIB: '1024' }, 'ARGON2_MEMORY_KIB'],
    // The close after the drain needs part of the grace period.
    [{ SHUTDOWN_GRACE_MS: '10000', SHUTDOWN_DRAIN_MS: '6000' }, 'SHUTDOWN_DRAIN_MS'],
    [{ RENDER_URL: 'http://render:3100' }, 'RENDER_TOKEN'],
  ])('rejects %o naming %s', (env, variable) => {
    const error = configError(env);
    expect(error.variable).toBe(variable);
    expect(error.message).toMatch(new RegExp(`^Invalid configuration: ${variable} `));
  });

  it('refuses a wildcard CORS origin in production', () => {
    expect(configError({ NODE_ENV: 'production', CORS_ORIGINS: 'https://a.example,*' }).message).toContain('production');
  });

  it('parses sizes, proxies and origins', () => {
    const config = loadConfig({ MAX_REQUEST_SIZE: '2mb', TRUST_PROXY: '2', CORS_ORIGINS: 'https://a.example, http://localhost:5173' });
    expect(config.maxRequestSize).toBe(2 * 1024 * 1024);
    expect(config.trustProxy).toBe(2);
    expect(config.corsOrigins).toEqual(['https://a.example', 'http://localhost:5173']);
    expect(loadConfig({ TRUST_PROXY: '10.0.0.0/8,127.0.0.1' }).trustProxy).toEqual(['10.0.0.0/8', '127.0.0.1']);
  });

  it('reads .env under the real environment, which wins', () => {
    const dir = mkdtempSync(join(tmpdir(), 'rampart-env-'));
    const file = join(dir, '.env');
    writeFileSync(file, 'PORT=4000\nLOG_LEVEL=debug\n');
    const env = environmentWithDotEnv({ PORT: '5000' }, file);
    expect(loadConfig(env).port).toBe(5000);
    expect(loadConfig(env).logLevel).toBe('debug');
  });

  it('redacts passwords from URLs meant for logs', () => {
    expect(redactUrl('postgres://app:s3cret@db:5432/rampart')).toBe('postgres://app:***@db:5432/rampart');
  });
});
