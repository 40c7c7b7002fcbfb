// `rampart render` as a real child process, and the API calling it through the circuit
// breaker: renders go through it; killed, the circuit opens and the API renders in-process
// (no 5xx, readiness degraded); restarted, the circuit closes; a hanging service trips the timeout.
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, registerAndLogin } from '../../helpers/accounts.ts';
import { freePort, type RunningProcess, runCli, startCli, waitFor } from '../../helpers/processes.ts';
import { startTestApp, type TestApp } from '../../helpers/test-app.ts';
import { eventually } from '../../helpers/wait.ts';

const TOKEN = randomBytes(32).toString('hex');

async function startRenderService(port: number): Promise<RunningProcess> {
  const child = startCli(['render'], { RENDER_PORT: String(port), RENDER_TOKEN: TOKEN, LOG_LEVEL: 'info', RENDER_THREADS: '1' });
  await waitFor(async () => ((await fetch(`http://127.0.0.1:${port}/health/ready`)).status === 200 ? true : undefined), 90_000).catch(
    (error: unknown) => {
      throw new Error(`rampart render did not start: ${child.output()}`, { cause: error });
    },
  );
  return child;
}

async function stop(child: RunningProcess | undefined, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (!child || child.child.exitCode !== null) return;
  child.child.kill(signal);
  await child.exited;
}

const renderedByService = (child: RunningProcess) =>
  child
    .output()
    .split('\n')
    .filter((line) => line.includes('/api/v1/internal/render')).length;

describe('rampart render (a real process) behind the circuit breaker', () => {
  let port: number;
  let service: RunningProcess | undefined;
  let t: TestApp;
  let auth: Record<string, string>;
  beforeAll(async () => {
    port = await freePort();
    service = await startRenderService(port);
    t = await startTestApp('embedded', {
      env: {
        RENDER_URL: `http://127.0.0.1:${port}`,
        RENDER_TOKEN: TOKEN,
        RENDER_BREAKER_FAILURES: '3',
        RENDER_BREAKER_COOLDOWN_MS: '1000',
        RENDER_REMOTE_TIMEOUT_MS: '10000',
        RENDER_THREADS: '1',
      },
    });
    auth = bearer((await registerAndLogin(t.app)).token);
  });
  afterAll(async () => {
    await t?.close();
    await stop(service);
  });

  const render = (markdown: string) => t.app.inject({ method: 'POST', url: '/api/v1/render', payload: { markdown }, headers: auth });
  const renderCheck = async () => {
    const response = await t.app.inject({ url: '/health/ready' });
    return { status: response.statusCode, render: response.json().checks.render?.status as string | undefined };
  };

  it('serves its own health and the hardened edge, and refuses a missing or wrong token', async () => {
    const live = await fetch(`http://127.0.0.1:${port}/health/live`);
    expect(live.status).toBe(200);
    expect(live.headers.get('x-content-type-options')).toBe('nosniff');
    expect(live.headers.get('x-request-id')).toBeTruthy();
    const url = `http://127.0.0.1:${port}/api/v1/internal/render`;
    const body = JSON.stringify({ kind: 'markdown', text: '*hi*' });
    for (const authorization of [undefined, 'Bearer wrong', `Bearer ${TOKEN}x`, TOKEN]) {
      const headers: Record<string, string> = { 'content-type': 'application/json', ...(authorization ? { authorization } : {}) };
      const refused = await fetch(url, { method: 'POST', headers, body });
      expect(refused.status, authorization).toBe(401);
      expect((await refused.json()).error_code).toBe('UNAUTHENTICATED');
    }
    const ok = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` },
      body,
    });
    expect(await ok.json()).toEqual({ html: '<p><em>hi</em></p>\n' });
  });

  it('renders through the service while it is up; readiness says ok', async () => {
    const before = renderedByService(service as RunningProcess);
    const response = await render(`through the **service** ${randomBytes(4).toString('hex')}`);
    expect(response.statusCode).toBe(200);
    expect(response.json().html).toContain('<strong>service</strong>');
    await eventually(async () => renderedByService(service as RunningProcess) > before);
    expect(await renderCheck()).toEqual({ status: 200, render: 'ok' });
  });

  it('killed: renders are served in-process with no 5xx, the circuit opens, readiness is degraded (still ready)', async () => {
    await stop(service, 'SIGKILL');
    for (let index = 0; index < 6; index += 1) {
      const response = await render(`while **down** ${index} ${randomBytes(4).toString('hex')}`);
      expect(response.statusCode).toBe(200);
      expect(response.json().html).toContain('<strong>down</strong>');
    }
    expect(await renderCheck()).toEqual({ status: 200, render: 'degraded' });
    expect(t.logs.some((line) => line.event === 'render.circuit' && line.state === 'open')).toBe(true);
  });

  it('restarted: after the cool-down one call half-opens the circuit, succeeds, and closes it', async () => {
    service = await startRenderService(port);
    const before = renderedByService(service);
    await eventually(async () => {
      const response = await render(`back ${randomBytes(4).toString('hex')}`);
      expect(response.statusCode).toBe(200);
      return (await renderCheck()).render === 'ok';
    });
    expect(renderedByService(service)).toBeGreaterThan(before);
    expect(t.logs.some((line) => line.event === 'render.circuit' && line.state === 'half-open')).toBe(true);
  });
});

describe('rampart render without a token', () => {
  it('refuses to start, naming RENDER_TOKEN', async () => {
    const { code, output } = await runCli(['render'], { RENDER_PORT: String(await freePort()) });
    expect(code).toBe(1);
    expect(output).toContain('RENDER_TOKEN');
  });
});

describe('a render service that never answers', () => {
  let hanging: net.Server;
  const sockets = new Set<net.Socket>();
  let requests = 0;
  let t: TestApp;
  beforeAll(async () => {
    hanging = net.createServer((socket) => {
      sockets.add(socket); // accepts, reads, never answers
      socket.on('data', (chunk) => {
        if (chunk.toString('latin1').includes('POST /api/v1/internal/render')) requests += 1;
      });
      socket.on('close', () => sockets.delete(socket));
    });
    await new Promise<void>((resolve) => hanging.listen(0, '127.0.0.1', resolve));
    const { port } = hanging.address() as net.AddressInfo;
    t = await startTestApp('embedded', {
      env: {
        RENDER_URL: `http://127.0.0.1:${port}`,
        RENDER_TOKEN: TOKEN,
        RENDER_REMOTE_TIMEOUT_MS: '300',
        RENDER_BREAKER_FAILURES: '2',
        RENDER_BREAKER_COOLDOWN_MS: '600000',
        RENDER_THREADS: '1',
      },
    });
  });
  afterAll(async () => {
    await t?.close();
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => hanging.close(resolve));
  });

  it('trips the timeout (the API answers in-process), then the circuit opens and calls stop reaching it', async () => {
    const auth = bearer((await registerAndLogin(t.app)).token);
    const render = (markdown: string) => t.app.inject({ method: 'POST', url: '/api/v1/render', payload: { markdown }, headers: auth });
    for (let index = 0; index < 2; index += 1) {
      const response = await render(`slow ${index}`);
      expect(response.statusCode).toBe(200);
      expect(response.json().html).toBe(`<p>slow ${index}</p>\n`);
    }
    const fallbacks = t.logs.filter((line) => line.event === 'render.fallback');
    expect(fallbacks.length).toBe(2);
    expect(JSON.stringify(fallbacks[0])).toMatch(/TaskCancelledError|timed out|cancel/i);
    const ready = await t.app.inject({ url: '/health/ready' });
    expect(ready.json().checks.render.status).toBe('degraded');
    expect(requests).toBe(2);
    expect((await render('open')).statusCode).toBe(200);
    expect(requests).toBe(2); // the open circuit did not call the service
  });
});
