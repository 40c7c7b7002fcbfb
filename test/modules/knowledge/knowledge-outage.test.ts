// The knowledge module with the OpenAI-compatible embeddings API failing (the stand-in
// server, driven by the real provider, behind a TCP proxy for the outage): slow, 429, 500 and
// unreachable. The embed job stores the text and retries; search falls back to text and says
// so; the circuit opens; readiness reports it; when the API returns, entries become ready and
// vector search finds them. Embedded shape: it is the one with pgvector here.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, registerAndLogin, type SignedIn } from '../../helpers/accounts.ts';
import { type Behaviour, type EmbeddingsServer, startEmbeddingsServer } from '../../helpers/embeddings-server.ts';
import { startTcpProxy, type TcpProxy } from '../../helpers/tcp-proxy.ts';
import { startTestApp, type TestApp } from '../../helpers/test-app.ts';
import { eventually } from '../../helpers/wait.ts';

const MODEL = 'test-embed';

describe('knowledge with the embeddings API failing (embedded shape)', () => {
  let server: EmbeddingsServer;
  let proxy: TcpProxy;
  let t: TestApp;
  let owner: SignedIn;

  beforeAll(async () => {
    server = await startEmbeddingsServer({ model: MODEL });
    proxy = await startTcpProxy('127.0.0.1', server.port);
    t = await startTestApp('embedded', {
      env: {
        EMBEDDINGS_URL: `http://127.0.0.1:${proxy.port}`,
        EMBEDDINGS_MODEL: MODEL,
        EMBEDDINGS_TIMEOUT_MS: '300',
        EMBEDDINGS_BREAKER_FAILURES: '3',
        // Long enough that the open circuit is still open when the test looks, on a slow machine.
        EMBEDDINGS_BREAKER_COOLDOWN_MS: '5000',
        HEALTH_CHECK_TIMEOUT_MS: '2000',
      },
    });
    owner = await registerAndLogin(t.app);
  });
  afterAll(async () => {
    await t?.close();
    await proxy?.close();
    await server?.close();
  });

  const entry = async (id: string) =>
    (await t.app.inject({ method: 'GET', url: `/api/v1/knowledge/entries/${id}`, headers: bearer(owner.token) })).json().entry as {
      state: string;
      chunk_count: number;
      model: string | null;
    };
  const search = async (q: string, mode: string) => {
    const response = await t.app.inject({
      method: 'GET',
      url: `/api/v1/knowledge/search?${new URLSearchParams({ q, mode })}`,
      headers: bearer(owner.token),
    });
    expect(response.statusCode, response.body).toBe(200);
    return response.json() as { mode: string; fallback_reason: string | null; hits: { entry_id: string }[] };
  };
  const readiness = async () => (await t.app.inject({ method: 'GET', url: '/health/ready' })).json();
  const circuitOpen = async () => {
    const metrics = await t.app.inject({ method: 'GET', url: '/metrics' });
    return /rampart_circuit_breaker_state\{dependency="embeddings",state="open"\} 1/.test(metrics.body);
  };

  const outages: { name: string; fail(): Promise<void> | void; recover(): Promise<void> | void }[] = [
    { name: 'slow', fail: () => server.always({ kind: 'slow', ms: 2_000 }), recover: () => server.always({ kind: 'ok' }) },
    {
      name: '429 with Retry-After',
      fail: () => server.always({ kind: 'status', status: 429, retryAfter: '1' } as Behaviour),
      recover: () => server.always({ kind: 'ok' }),
    },
    { name: '500', fail: () => server.always({ kind: 'status', status: 500 }), recover: () => server.always({ kind: 'ok' }) },
    { name: 'unreachable', fail: () => proxy.cut(), recover: () => proxy.restore() },
  ];

  for (const [i, outage] of outages.entries()) {
    it(`API ${outage.name}: the entry waits searchable by text, search says text, then it becomes ready`, async () => {
      await outage.fail();
      const word = `zebrafish${i}`;
      const created = await t.app.inject({
        method: 'POST',
        url: '/api/v1/knowledge/entries',
        headers: bearer(owner.token),
        payload: { title: `Outage ${outage.name}`, content: `Notes on the ${word} aquarium. Feed it twice a day.` },
      });
      expect(created.statusCode, created.body).toBe(202);
      const id = created.json().entry.id as string;
      // The job ran, failed to embed, and stored the text: pending, but found by text search.
      await eventually(async () => {
        const current = await entry(id);
        return current.state === 'pending' && current.chunk_count > 0;
      });
      const during = await search(word, 'hybrid');
      expect(during.mode).toBe('text');
      expect(during.fallback_reason).toMatch(/embeddings provider/);
      expect(during.hits.map((hit) => hit.entry_id)).toContain(id);
      await outage.recover();
      const ready = await eventually(async () => {
        const current = await entry(id);
        return current.state === 'ready' ? current : undefined;
      }, 120_000);
      expect(ready.model).toBe(`api:${MODEL}`);
      const after = await eventually(async () => {
        const result = await search(word, 'vector');
        return result.mode === 'vector' ? result : undefined;
      });
      expect(after.hits.map((hit) => hit.entry_id)).toContain(id);
    }, 180_000);
  }

  it('opens the circuit after repeated failures, reports it in readiness and metrics, and closes it when the API answers', async () => {
    server.always({ kind: 'status', status: 500 });
    server.models({ kind: 'status', status: 500 });
    await eventually(async () => {
      await search('anything at all', 'hybrid');
      return circuitOpen();
    });
    // Open: the search does not wait for the API, it answers from text at once.
    const calls = server.requests.length;
    const fast = await search('anything at all', 'vector');
    expect(fast.mode).toBe('text');
    expect(server.requests.length).toBe(calls);
    expect((await readiness()).checks.embeddings.status).toBe('error');
    expect((await readiness()).status).toBe('ready');
    server.always({ kind: 'ok' });
    server.models({ kind: 'list', ids: [MODEL] });
    await eventually(async () => (await search('anything at all', 'vector')).mode === 'vector');
    expect(await circuitOpen()).toBe(false);
    await eventually(async () => (await readiness()).checks.embeddings.status === 'ok');
  });
});
