// The render settings: defaults, and the refusals that keep the API and `rampart render` from disagreeing.
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../../src/config.ts';

const TOKEN = 'x'.repeat(32);

describe('render configuration', () => {
  it('renders in-process by default, with a pool sized to the machine', () => {
    const { render } = loadConfig({});
    expect(render).toMatchObject({ url: undefined, token: undefined, threads: 0, maxBytes: 256 * 1024, timeoutMs: 2000, port: 3100 });
  });

  it('refuses RENDER_URL without RENDER_TOKEN, a short token, and a URL that is not http(s)', () => {
    expect(() => loadConfig({ RENDER_URL: 'http://render:3100' })).toThrow(ConfigError);
    expect(() => loadConfig({ RENDER_URL: 'http://render:3100', RENDER_TOKEN: 'short' })).toThrow(/RENDER_TOKEN/);
    expect(() => loadConfig({ RENDER_URL: 'ftp://render', RENDER_TOKEN: TOKEN })).toThrow(/RENDER_URL/);
    expect(loadConfig({ RENDER_URL: 'http://render:3100', RENDER_TOKEN: TOKEN }).render).toMatchObject({
      url: 'http://render:3100',
      breakerFailures: 5,
      breakerCooldownMs: 10_000,
      remoteTimeoutMs: 3_000,
    });
  });
});
