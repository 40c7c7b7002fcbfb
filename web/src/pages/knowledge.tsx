// The knowledge base: add an entry (chunked and embedded by a job: its state shows until
// ready), search it (the mode that actually ran is shown), and build a context for a model
// prompt under a length limit chosen with a slider, with its citations.
import type { ComponentChildren } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { del, get, post } from '../api.ts';
import type { PageProps } from '../main.tsx';
import { Banner, ErrorBanner, Field, fieldErrors, formatTime, Loading, Page, StateBadge, useAction, useAsync } from '../ui.tsx';

interface Entry {
  id: string;
  title: string;
  state: 'pending' | 'ready' | 'failed';
  tags: string[];
  source_url: string | null;
  failure_reason: string | null;
  chunk_count: number;
  created_at: string;
}

interface Hit {
  entry_id: string;
  title: string;
  chunk_id: string;
  position: number;
  snippet: { text: string; highlights: [number, number][] };
  score: number;
}

interface Context {
  context: string;
  citations: { entry_id: string; title: string; chunk_id: string; position: number }[];
  truncated: boolean;
  mode: Mode;
}

type Mode = 'hybrid' | 'vector' | 'text';

interface Answer {
  mode: Mode;
  requested_mode: Mode;
  fallback_reason: string | null;
  hits: Hit[];
}

/** The snippet with its matches marked (the API gives [start, end) offsets). */
function Snippet(props: { snippet: Hit['snippet'] }) {
  const { text, highlights } = props.snippet;
  const parts: ComponentChildren[] = [];
  let at = 0;
  for (const [start, end] of [...highlights].sort((a, b) => a[0] - b[0])) {
    if (start < at) continue;
    parts.push(text.slice(at, start), <mark key={start}>{text.slice(start, end)}</mark>);
    at = end;
  }
  parts.push(text.slice(at));
  return <p>{parts}</p>;
}

function AddEntry(props: { onAdded: () => void }) {
  const add = useAction(async (form: HTMLFormElement) => {
    const data = new FormData(form);
    const tags = String(data.get('tags') ?? '')
      .split(',')
      .map((tag) => tag.trim())
      .filter(Boolean);
    const source = String(data.get('source_url') ?? '').trim();
    await post('/knowledge/entries', {
      title: String(data.get('title')).trim(),
      content: String(data.get('content')),
      ...(tags.length > 0 ? { tags } : {}),
      ...(source ? { source_url: source } : {}),
    });
    form.reset();
    props.onAdded();
  });
  const fields = fieldErrors(add.error);
  return (
    <section aria-labelledby="add-entry">
      <h2 id="add-entry">Add an entry</h2>
      {add.error !== undefined && <ErrorBanner error={add.error} title="Could not add the entry" />}
      <form
        onSubmit={(event) => {
          event.preventDefault();
          void add.act(event.currentTarget);
        }}
      >
        <Field label="Title" name="title" required error={fields.title} />
        <div class="field">
          <label for="field-content">Content</label>
          <textarea id="field-content" name="content" rows={6} required aria-invalid={fields.content ? 'true' : undefined} />
          {fields.content && <p class="field-error">Content {fields.content}</p>}
        </div>
        <Field label="Tags (comma-separated, optional)" name="tags" error={fields.tags} />
        <Field label="Source URL (optional)" name="source_url" type="url" error={fields.source_url} />
        <button type="submit" disabled={add.busy}>
          {add.busy ? 'Adding…' : 'Add entry'}
        </button>
      </form>
    </section>
  );
}

function Search() {
  const [mode, setMode] = useState<Mode>('hybrid');
  const [answer, setAnswer] = useState<Answer | undefined>(undefined);
  const search = useAction(async (q: string, k: string) => {
    setAnswer(await get<Answer>(`/knowledge/search?${new URLSearchParams({ q, k, mode })}`));
  });
  return (
    <section aria-labelledby="search-kb">
      <h2 id="search-kb">Search</h2>
      <form
        class="inline-form"
        onSubmit={(event) => {
          event.preventDefault();
          const data = new FormData(event.currentTarget);
          void search.act(String(data.get('q')), String(data.get('k')));
        }}
      >
        <Field label="Query" name="q" type="search" required />
        <div class="field">
          <label for="kb-mode">Mode</label>
          <select id="kb-mode" value={mode} onChange={(event) => setMode(event.currentTarget.value as Mode)}>
            <option value="hybrid">Hybrid (vector + text)</option>
            <option value="vector">Vector</option>
            <option value="text">Text</option>
          </select>
        </div>
        <Field label="Results" name="k" type="number" min={1} max={50} defaultValue="10" />
        <button type="submit" disabled={search.busy}>
          Search
        </button>
      </form>
      {search.error !== undefined && <ErrorBanner error={search.error} title="Search failed" />}
      {answer && (
        <div aria-live="polite">
          <p>
            Mode: <strong data-testid="search-mode">{answer.mode}</strong>
            {answer.mode !== answer.requested_mode && ` (asked for ${answer.requested_mode}: ${answer.fallback_reason ?? 'not available'})`}
          </p>
          {answer.hits.length === 0 ? (
            <p class="empty">Nothing matched.</p>
          ) : (
            <ol class="hits">
              {answer.hits.map((hit) => (
                <li key={hit.chunk_id}>
                  <strong>{hit.title}</strong>{' '}
                  <span class="muted">
                    part {hit.position + 1}, score {hit.score.toFixed(3)}
                  </span>
                  <Snippet snippet={hit.snippet} />
                </li>
              ))}
            </ol>
          )}
        </div>
      )}
    </section>
  );
}

function ContextBuilder() {
  const [length, setLength] = useState(2000);
  const [result, setResult] = useState<Context | undefined>(undefined);
  const build = useAction(async (query: string) => {
    setResult(await post<Context>('/knowledge/context', { query, max_context_length: length }));
  });
  return (
    <section aria-labelledby="context-heading">
      <h2 id="context-heading">Build a context</h2>
      <form
        onSubmit={(event) => {
          event.preventDefault();
          void build.act(String(new FormData(event.currentTarget).get('query')));
        }}
      >
        <Field label="Question" name="query" required />
        <div class="field">
          <label for="context-length">Maximum length</label>
          <input
            id="context-length"
            type="range"
            min={200}
            max={16000}
            step={100}
            value={length}
            onInput={(event) => setLength(Number(event.currentTarget.value))}
          />
          <output for="context-length">{length.toLocaleString()} characters</output>
        </div>
        <button type="submit" disabled={build.busy}>
          Build context
        </button>
      </form>
      {build.error !== undefined && <ErrorBanner error={build.error} title="Could not build the context" />}
      {result && (
        <>
          <p class="muted">
            {result.context.length.toLocaleString()} characters from a {result.mode} search
          </p>
          {result.truncated && <Banner kind="info">The context was cut to fit {length.toLocaleString()} characters.</Banner>}
          <pre class="context">{result.context}</pre>
          <h3>Citations</h3>
          <ol>
            {result.citations.map((citation) => (
              <li key={citation.chunk_id}>
                {citation.title} <span class="muted">part {citation.position + 1}</span>
              </li>
            ))}
          </ol>
        </>
      )}
    </section>
  );
}

export function Knowledge(_props: PageProps) {
  const entries = useAsync(() => get<{ entries: Entry[]; next_cursor: string | null }>('/knowledge/entries?limit=50'), []);
  const pending = entries.data?.entries.some((entry) => entry.state === 'pending') ?? false;
  // Embedding runs in a job with no topic of its own: look again while any entry is pending.
  useEffect(() => {
    if (!pending) return;
    const timer = setInterval(() => void entries.reload(), 2000);
    return () => clearInterval(timer);
  }, [pending]);
  const remove = useAction(async (id: string) => {
    await del(`/knowledge/entries/${id}`);
    await entries.reload();
  });
  return (
    <Page title="Knowledge">
      <div class="two-col">
        <AddEntry onAdded={() => void entries.reload()} />
        <section aria-labelledby="entries-heading">
          <h2 id="entries-heading">Entries</h2>
          {entries.error !== undefined && <ErrorBanner error={entries.error} title="Could not load the entries" />}
          {remove.error !== undefined && <ErrorBanner error={remove.error} title="Could not delete the entry" />}
          {entries.loading && !entries.data && <Loading label="Loading entries…" />}
          {entries.data && entries.data.entries.length === 0 && <p class="empty">No entries yet.</p>}
          <ul class="cards">
            {entries.data?.entries.map((entry) => (
              <li key={entry.id}>
                <strong>{entry.title}</strong>
                <span class="muted">
                  <StateBadge state={entry.state} /> {entry.chunk_count === 1 ? '1 part' : `${entry.chunk_count} parts`} ·{' '}
                  {formatTime(entry.created_at)}
                  {entry.failure_reason && ` · ${entry.failure_reason}`}
                </span>
                <button type="button" class="secondary" onClick={() => void remove.act(entry.id)} disabled={remove.busy}>
                  Delete<span class="sr-only"> {entry.title}</span>
                </button>
              </li>
            ))}
          </ul>
        </section>
      </div>
      <Search />
      <ContextBuilder />
    </Page>
  );
}
