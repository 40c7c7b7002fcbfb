// The knowledge API in both shapes, in process: entries become ready through the embed
// job; search finds them by hybrid, vector and text (the scale shape here has no pgvector,
// so it runs text and says so); a paraphrase sharing no words is found by the local
// embedder; the context endpoint keeps to its length; entries are private to their owner.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, registerAndLogin, type SignedIn } from '../../helpers/accounts.ts';
import { shapes } from '../../helpers/shapes.ts';
import { startTestApp, type TestApp } from '../../helpers/test-app.ts';
import { eventually } from '../../helpers/wait.ts';

const CAR_ENTRY = {
  title: 'Fixing cars at home',
  content:
    '# Fixing cars\n\nMost car trouble comes from worn brakes, a flat tyre or an old battery. A mechanic in a garage can replace the brake pads, ' +
    'change the engine oil and check the gearbox.\n\n## Engine\n\nIf the engine overheats, check the coolant and the radiator before driving again.',
};
const OTHER_ENTRIES = [
  { title: 'Baking bread', content: 'Knead the dough, let it rise overnight, and bake the loaf in a hot oven with some steam.' },
  {
    title: 'Index funds',
    content: 'Stock market index funds spread savings across many companies; fees and taxes matter more than timing.',
  },
  { title: 'Guitar practice', content: 'Practise chords and scales slowly with a metronome; a song is learned one bar at a time.' },
  {
    title: 'Retry policy',
    content: 'The client retries with exponential backoff: `max_retry_count` caps the attempts and parseHttpHeader reads Retry-After.',
  },
];

interface Hit {
  entry_id: string;
  chunk_id: string;
  score: number;
  title: string;
  chunk: string;
  snippet: { text: string; highlights: [number, number][] };
  vector: { rank: number } | null;
  text: { rank: number } | null;
}

describe.each(shapes)('knowledge API (%s shape)', (shape) => {
  let t: TestApp;
  let owner: SignedIn;
  let stranger: SignedIn;
  const ids: Record<string, string> = {};
  // The Postgres here has no pgvector: the scale shape runs text only, and the tests say so.
  const vectors = shape === 'embedded';

  const create = async (auth: SignedIn, body: Record<string, unknown>) => {
    const response = await t.app.inject({ method: 'POST', url: '/api/v1/knowledge/entries', headers: bearer(auth.token), payload: body });
    expect(response.statusCode, response.body).toBe(202);
    return response.json().entry as { id: string; state: string };
  };
  const read = (auth: SignedIn, id: string) =>
    t.app.inject({ method: 'GET', url: `/api/v1/knowledge/entries/${id}`, headers: bearer(auth.token) });
  const search = async (q: string, mode?: string, auth = owner, k = 10) => {
    const query = new URLSearchParams({ q, k: String(k), ...(mode ? { mode } : {}) });
    const response = await t.app.inject({ method: 'GET', url: `/api/v1/knowledge/search?${query}`, headers: bearer(auth.token) });
    expect(response.statusCode, response.body).toBe(200);
    return response.json() as { mode: string; requested_mode: string; fallback_reason: string | null; hits: Hit[] };
  };

  beforeAll(async () => {
    t = await startTestApp(shape);
    owner = await registerAndLogin(t.app);
    stranger = await registerAndLogin(t.app);
    for (const entry of [CAR_ENTRY, ...OTHER_ENTRIES]) ids[entry.title] = (await create(owner, entry)).id;
    await eventually(async () => {
      for (const id of Object.values(ids)) if ((await read(owner, id)).json().entry.state !== 'ready') return false;
      return true;
    });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('stores an entry as pending, then ready with its chunks and the model of its vectors', async () => {
    const entry = (await read(owner, ids[CAR_ENTRY.title] as string)).json().entry;
    expect(entry).toMatchObject({ title: CAR_ENTRY.title, content: CAR_ENTRY.content, state: 'ready', failure_reason: null });
    expect(entry.chunk_count).toBeGreaterThanOrEqual(1);
    if (vectors) expect(entry.model).toMatch(/^local:/);
    else expect(entry.model).toBeNull();
  });

  it('finds an entry by text, with the matched words highlighted in the snippet', async () => {
    const result = await search('radiator coolant', 'text');
    expect(result.mode).toBe('text');
    expect(result.fallback_reason).toBeNull();
    expect(result.hits[0]?.entry_id).toBe(ids[CAR_ENTRY.title]);
    const snippet = result.hits[0]?.snippet;
    const marked = snippet?.highlights.map(([start, end]) => snippet.text.slice(start, end).toLowerCase());
    expect(marked).toEqual(expect.arrayContaining(['radiator', 'coolant']));
    expect(result.hits[0]?.text?.rank).toBe(1);
  });

  it('finds code identifiers by their words', async () => {
    const result = await search('retry count header', 'text');
    expect(result.hits[0]?.entry_id).toBe(ids['Retry policy']);
  });

  it.runIf(vectors)('finds a paraphrase that shares no words with the entry (vector and hybrid)', async () => {
    for (const mode of ['vector', 'hybrid']) {
      const result = await search('automobile repair', mode);
      expect(result.mode).toBe(mode);
      const top3 = result.hits.slice(0, 3).map((hit) => hit.entry_id);
      expect(top3, `${mode}: ${result.hits.map((hit) => hit.title).join(', ')}`).toContain(ids[CAR_ENTRY.title]);
    }
    // Nothing in the text matches, so the hits come from the vector side alone.
    const hybrid = await search('automobile repair');
    expect(hybrid.hits.find((hit) => hit.entry_id === ids[CAR_ENTRY.title])?.vector?.rank).toBeGreaterThanOrEqual(1);
  });

  it.runIf(vectors)('hybrid search ranks each hit on both sides where both found it', async () => {
    const result = await search('engine oil brakes');
    expect(result.mode).toBe('hybrid');
    const top = result.hits[0];
    expect(top?.entry_id).toBe(ids[CAR_ENTRY.title]);
    expect(top?.vector).not.toBeNull();
    expect(top?.text).not.toBeNull();
    const marked = top?.snippet.highlights.map(([start, end]) => top.snippet.text.slice(start, end).toLowerCase());
    expect(marked?.length).toBeGreaterThan(0);
  });

  it.runIf(vectors)('hybrid search is the reciprocal rank fusion of the vector and text rankings', async () => {
    // k = 50 lists every chunk here on each side, so both sides' ranks can be checked against the single modes.
    for (const q of ['engine oil brakes', 'dough oven', 'automobile repair']) {
      const [hybrid, vector, text] = await Promise.all([search(q), search(q, 'vector', owner, 50), search(q, 'text', owner, 50)]);
      const vectorRank = new Map(vector.hits.map((hit, i) => [hit.chunk_id, i + 1]));
      const textRank = new Map(text.hits.map((hit, i) => [hit.chunk_id, i + 1]));
      expect(hybrid.hits.length).toBeGreaterThan(0);
      for (const hit of hybrid.hits) {
        expect(hit.vector?.rank ?? null, q).toBe(vectorRank.get(hit.chunk_id) ?? null);
        expect(hit.text?.rank ?? null, q).toBe(textRank.get(hit.chunk_id) ?? null);
        const fused = (hit.vector ? 1 / (60 + hit.vector.rank) : 0) + (hit.text ? 1 / (60 + hit.text.rank) : 0);
        expect(hit.score).toBeCloseTo(fused, 12);
      }
      const scores = hybrid.hits.map((hit) => hit.score);
      expect(scores).toEqual([...scores].sort((a, b) => b - a));
    }
  });

  it.runIf(!vectors)('runs text and says why when vectors are unavailable: never an error', async () => {
    for (const mode of ['vector', 'hybrid']) {
      const result = await search('brake pads', mode);
      expect(result).toMatchObject({ mode: 'text', requested_mode: mode });
      expect(result.fallback_reason).toMatch(/pgvector/);
      expect(result.hits[0]?.entry_id).toBe(ids[CAR_ENTRY.title]);
    }
    const ready = await t.app.inject({ method: 'GET', url: '/health/ready' });
    expect(ready.json().checks.vector_search.status).toBe('degraded');
  });

  it('builds a context within the length, with citations pointing at the text used', async () => {
    for (const max of [40, 120, 400, 5_000]) {
      const response = await t.app.inject({
        method: 'POST',
        url: '/api/v1/knowledge/context',
        headers: bearer(owner.token),
        payload: { query: 'brakes engine oil', max_context_length: max },
      });
      expect(response.statusCode, response.body).toBe(200);
      const body = response.json() as {
        context: string;
        truncated: boolean;
        citations: { chunk: string; start: number; end: number; entry_id: string }[];
      };
      expect(body.context.length).toBeLessThanOrEqual(max);
      for (const citation of body.citations) expect(body.context.slice(citation.start, citation.end)).toBe(citation.chunk);
      if (max >= 400) expect(body.citations[0]?.entry_id).toBe(ids[CAR_ENTRY.title]);
      if (max === 40) expect(body.truncated).toBe(true);
    }
  });

  it('keeps entries private: another account gets 404 and never finds them', async () => {
    const response = await read(stranger, ids[CAR_ENTRY.title] as string);
    expect(response.statusCode).toBe(404);
    expect(response.json().error_code).toBe('NOT_FOUND');
    expect((await search('brakes', 'text', stranger)).hits).toEqual([]);
    const deleted = await t.app.inject({
      method: 'DELETE',
      url: `/api/v1/knowledge/entries/${ids[CAR_ENTRY.title]}`,
      headers: bearer(stranger.token),
    });
    expect(deleted.statusCode).toBe(404);
  });

  it('lists my entries newest first, paged, without their content', async () => {
    const first = await t.app.inject({ method: 'GET', url: '/api/v1/knowledge/entries?limit=3', headers: bearer(owner.token) });
    expect(first.statusCode).toBe(200);
    const page = first.json() as { entries: { id: string; content?: string }[]; next_cursor: string };
    expect(page.entries).toHaveLength(3);
    expect(page.entries[0]).not.toHaveProperty('content');
    const second = await t.app.inject({
      method: 'GET',
      url: `/api/v1/knowledge/entries?limit=3&cursor=${page.next_cursor}`,
      headers: bearer(owner.token),
    });
    const rest = second.json() as { entries: { id: string }[]; next_cursor: string | null };
    expect(rest.next_cursor).toBeNull();
    expect(new Set([...page.entries, ...rest.entries].map((entry) => entry.id))).toEqual(new Set(Object.values(ids)));
  });

  it('refuses bad input with the error envelope', async () => {
    const cases = [
      { method: 'GET' as const, url: '/api/v1/knowledge/search?q=' },
      { method: 'GET' as const, url: '/api/v1/knowledge/search?q=x&k=0' },
      { method: 'GET' as const, url: '/api/v1/knowledge/search?q=x&k=1e309' },
      { method: 'GET' as const, url: '/api/v1/knowledge/search?q=x&mode=fuzzy' },
      { method: 'POST' as const, url: '/api/v1/knowledge/context', payload: { query: 'x', max_context_length: 0 } },
      { method: 'POST' as const, url: '/api/v1/knowledge/entries', payload: { title: '', content: 'x' } },
      {
        method: 'POST' as const,
        url: '/api/v1/knowledge/entries',
        payload: { title: 'x', content: 'y', source_url: 'javascript:alert(1)' },
      },
      { method: 'GET' as const, url: '/api/v1/knowledge/entries/not-a-uuid' },
    ];
    for (const item of cases) {
      const response = await t.app.inject({ ...item, headers: bearer(owner.token) });
      expect(response.statusCode, `${item.url} ${response.body}`).toBe(400);
      expect(response.json().error_code).toBe('VALIDATION_FAILED');
    }
    const anonymous = await t.app.inject({ method: 'GET', url: '/api/v1/knowledge/search?q=x' });
    expect(anonymous.statusCode).toBe(401);
    const huge = await t.app.inject({
      method: 'POST',
      url: '/api/v1/knowledge/entries',
      headers: bearer(owner.token),
      payload: { title: 'big', content: 'x'.repeat(t.config.knowledge.maxEntryBytes + 1) },
    });
    expect(huge.statusCode).toBe(413);
    expect(huge.json().error_code).toBe('PAYLOAD_TOO_LARGE');
  });

  it('searches queries made only of stop words or operators without an error', async () => {
    for (const q of ['the and of', '-', '"', 'OR OR', "'; drop table knowledge_chunks; --"]) {
      const result = await search(q, 'text');
      expect(result.mode).toBe('text');
    }
  });

  it('deletes an entry with its chunks: it is gone from reads and search', async () => {
    const id = ids['Guitar practice'] as string;
    const deleted = await t.app.inject({ method: 'DELETE', url: `/api/v1/knowledge/entries/${id}`, headers: bearer(owner.token) });
    expect(deleted.statusCode).toBe(204);
    expect((await read(owner, id)).statusCode).toBe(404);
    expect((await search('metronome chords', 'text')).hits).toEqual([]);
    const [chunks] = await t.platform.db.query<{ count: number }>(
      'select count(*)::int as count from knowledge_chunks where entry_id = $1',
      [id],
    );
    expect(chunks?.count).toBe(0);
  });
});
