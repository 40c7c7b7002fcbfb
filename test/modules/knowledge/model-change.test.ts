// Changing the embeddings model: entries whose vectors are another model's are found by
// the sweep's query and re-embedded; the new model gets its own index, the old vectors go,
// and vectors of two models are never compared (a search with the new model finds only
// re-embedded entries by vector, the rest by text). Embedded shape: it has pgvector.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config.ts';
import { HttpEmbeddings } from '../../../src/modules/knowledge/embeddings/http.ts';
import { KnowledgeSearch } from '../../../src/modules/knowledge/search.ts';
import { KnowledgeService } from '../../../src/modules/knowledge/service.ts';
import type { JobContext } from '../../../src/platform/jobs/queue.ts';
import { createLogger } from '../../../src/platform/observability/logger.ts';
import { bearer, registerAndLogin, type SignedIn } from '../../helpers/accounts.ts';
import { type EmbeddingsServer, startEmbeddingsServer } from '../../helpers/embeddings-server.ts';
import { startTestApp, type TestApp } from '../../helpers/test-app.ts';
import { eventually } from '../../helpers/wait.ts';

describe('changing the embeddings model (embedded shape)', () => {
  let t: TestApp;
  let api: EmbeddingsServer;
  let owner: SignedIn;
  const ids: string[] = [];

  beforeAll(async () => {
    api = await startEmbeddingsServer({ model: 'next-model', dimensions: 24 });
    t = await startTestApp('embedded');
    owner = await registerAndLogin(t.app);
    for (const content of ['Brakes and tyres of old cars.', 'Sourdough bread needs a long rise.']) {
      const response = await t.app.inject({
        method: 'POST',
        url: '/api/v1/knowledge/entries',
        headers: bearer(owner.token),
        payload: { title: 'x', content },
      });
      ids.push(response.json().entry.id);
    }
    await eventually(async () => {
      const [row] = await t.platform.db.query<{ n: number }>("select count(*)::int as n from knowledge_entries where state = 'ready'");
      return row?.n === 2;
    });
  });
  afterAll(async () => {
    await t?.close();
    await api?.close();
  });

  it('re-embeds entries of another model with the new one, and compares only same-model vectors', async () => {
    const config = loadConfig({ EMBEDDINGS_URL: api.url, EMBEDDINGS_MODEL: 'next-model' }).knowledge;
    const logger = createLogger('silent');
    const next = new HttpEmbeddings({ ...config, embeddingsUrl: api.url, embeddingsModel: 'next-model' }, logger);
    const service = new KnowledgeService(t.platform, next);
    const [first] = await t.platform.db.query<{ model: string }>('select model from knowledge_entries where id = $1', [ids[0]]);
    expect(first?.model).toMatch(/^local:/);

    // What the sweep enqueues: both entries, their vectors being the local model's.
    expect(new Set(await service.repo.entriesToEmbed(next.model, 15 * 60_000, 100))).toEqual(new Set(ids));
    const job: JobContext = { id: 'test', attempt: 0, requestId: 'test', log: logger, signal: new AbortController().signal };
    await service.embedEntry(ids[0] as string, job);

    const models = await t.platform.db.query<{ model: string; n: number }>(
      `select v.model, count(*)::int as n from knowledge_chunk_vectors v join knowledge_chunks c on c.id = v.chunk_id where c.entry_id = $1 group by v.model`,
      [ids[0]],
    );
    expect(models).toEqual([{ model: 'api:next-model', n: expect.any(Number) }]);
    const indexes = await t.platform.db.query<{ indexdef: string }>(
      "select indexdef from pg_indexes where tablename = 'knowledge_chunk_vectors' and indexdef like '%hnsw%'",
    );
    expect(indexes.map((row) => row.indexdef).join('\n')).toMatch(/vector\(24\).*model = 'api:next-model'/s);
    expect(indexes.map((row) => row.indexdef).join('\n')).toMatch(/vector\(100\).*model = 'local:/s);
    // Only the other entry is left to re-embed.
    expect(await service.repo.entriesToEmbed(next.model, 15 * 60_000, 100)).toEqual([ids[1]]);

    // A search with the new model reaches only the re-embedded entry by vector.
    const search = new KnowledgeSearch({
      repo: service.repo,
      provider: next,
      vectorsSupported: true,
      efSearch: 40,
      logger,
      queryEmbeddingTimeoutMs: 2_000,
    });
    const vector = await search.search(owner.userId, 'bread', 10, 'vector');
    expect(vector.mode).toBe('vector');
    expect(vector.hits.map((hit) => hit.entryId)).toEqual([ids[0]]);
    // The app's own search (the local model) no longer sees that entry by vector, still by text.
    const local = await t.app.inject({ method: 'GET', url: '/api/v1/knowledge/search?q=brakes&mode=vector', headers: bearer(owner.token) });
    expect(local.json().hits.map((hit: { entry_id: string }) => hit.entry_id)).not.toContain(ids[0]);
    const text = await t.app.inject({ method: 'GET', url: '/api/v1/knowledge/search?q=brakes&mode=text', headers: bearer(owner.token) });
    expect(text.json().hits.map((hit: { entry_id: string }) => hit.entry_id)).toEqual([ids[0]]);
  });
});
