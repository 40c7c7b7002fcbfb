// One document rendered: the API's sanitized HTML (highlighted with the render CSS), shown
// once the parse job has finished, which the page learns live over `documents:<project_id>`.
// The HTML is parsed in an inert document first, so nothing in it loads or runs while it is
// prepared, and images from other sites become links: the CSP loads images only from here.
import { useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, del, get } from '../api.ts';
import type { PageProps } from '../main.tsx';
import { useTopic } from '../realtime.ts';
import { navigate } from '../router.ts';
import { Banner, ErrorBanner, formatBytes, formatTime, LiveBadge, Loading, Page, StateBadge, useAction, useAsync } from '../ui.tsx';

interface DocumentRow {
  id: string;
  project_id: string;
  path: string;
  state: 'pending' | 'ready' | 'failed';
  size_bytes: number;
  language: string | null;
  failure_reason: string | null;
  line_count: number | null;
  symbols: string[] | null;
  updated_at: string;
}

/** The rendered HTML as nodes: built in an inert document, external images turned into links. */
function prepare(html: string): Node[] {
  const inert = new DOMParser().parseFromString(`<body>${html}</body>`, 'text/html');
  for (const image of [...inert.querySelectorAll('img')]) {
    const src = image.getAttribute('src') ?? '';
    if (!URL.canParse(src, location.href)) {
      image.replaceWith(inert.createTextNode(image.getAttribute('alt') ?? ''));
      continue;
    }
    const url = new URL(src, location.href);
    if (url.origin === location.origin) continue;
    const link = inert.createElement('a');
    link.href = url.href;
    link.rel = 'noopener noreferrer nofollow';
    link.className = 'external-image';
    link.textContent = `Image: ${image.getAttribute('alt') || url.hostname} (opens ${url.hostname})`;
    image.replaceWith(link);
  }
  for (const anchor of [...inert.querySelectorAll('a[href]')]) {
    // Links leave the single-page router alone and never hand this page to the target.
    anchor.setAttribute('rel', 'noopener noreferrer nofollow');
    anchor.setAttribute('data-external', '');
  }
  return [...inert.body.childNodes];
}

function Rendered(props: { html: string }) {
  const container = useRef<HTMLElement>(null);
  useEffect(() => {
    container.current?.replaceChildren(...prepare(props.html));
  }, [props.html]);
  return <article class="rendered" ref={container} aria-label="Rendered document" data-testid="rendered" />;
}

export function DocumentView(props: PageProps) {
  const id = props.params.id as string;
  const meta = useAsync(() => get<{ document: DocumentRow }>(`/documents/${id}`), [id]);
  const document = meta.data?.document;
  const rendered = useAsync(
    async () => (document?.state === 'ready' ? await get<{ html: string }>(`/documents/${id}/rendered`) : undefined),
    [id, document?.state, document?.updated_at],
  );
  const live = useTopic(document ? `documents:${document.project_id}` : undefined, (event) => {
    const change = event.data as { id: string };
    if (change.id === id) void meta.reload();
  });
  const [confirming, setConfirming] = useState(false);
  const remove = useAction(async () => {
    if (!document) return;
    await del(`/documents/${id}`);
    navigate(`/projects/${document.project_id}`);
  });

  if (meta.error !== undefined && !document) {
    const missing = meta.error instanceof ApiError && meta.error.code === 'NOT_FOUND';
    return (
      <Page title={missing ? 'Document not found' : 'Document'}>
        {missing ? (
          <p>There is no document with this id among yours.</p>
        ) : (
          <ErrorBanner error={meta.error} title="Could not load the document" />
        )}
      </Page>
    );
  }
  if (!document) return <Loading label="Loading document…" />;

  return (
    <Page title={document.path} actions={<LiveBadge state={live} />}>
      <p>
        <a href={`/projects/${document.project_id}`}>Back to the project</a>
      </p>
      <dl class="facts">
        <div>
          <dt>State</dt>
          <dd>
            <StateBadge state={document.state} />
          </dd>
        </div>
        <div>
          <dt>Size</dt>
          <dd>{formatBytes(document.size_bytes)}</dd>
        </div>
        <div>
          <dt>Language</dt>
          <dd>{document.language ?? '—'}</dd>
        </div>
        <div>
          <dt>Lines</dt>
          <dd>{document.line_count ?? '—'}</dd>
        </div>
        <div>
          <dt>Updated</dt>
          <dd>{formatTime(document.updated_at)}</dd>
        </div>
      </dl>
      {document.symbols && document.symbols.length > 0 && (
        <details>
          <summary>Symbols ({document.symbols.length})</summary>
          <p>{document.symbols.join(', ')}</p>
        </details>
      )}
      {remove.error !== undefined && <ErrorBanner error={remove.error} title="Could not delete the document" />}
      {document.state === 'pending' && <Loading label="Processing the document; it appears here as soon as it is ready…" />}
      {document.state === 'failed' && (
        <Banner kind="error" title="This document could not be processed">
          {document.failure_reason ?? 'No reason was recorded.'}
        </Banner>
      )}
      {rendered.error !== undefined && <ErrorBanner error={rendered.error} title="Could not render the document" />}
      {document.state === 'ready' && !rendered.data && rendered.loading && <Loading label="Rendering…" />}
      {rendered.data && <Rendered html={rendered.data.html} />}
      <p class="actions">
        {confirming ? (
          <>
            <span>Delete {document.path}? This cannot be undone.</span>
            <button type="button" class="danger" onClick={() => void remove.act()} disabled={remove.busy}>
              Yes, delete it
            </button>
            <button type="button" class="secondary" onClick={() => setConfirming(false)}>
              Keep it
            </button>
          </>
        ) : (
          <button type="button" class="danger" onClick={() => setConfirming(true)}>
            Delete document
          </button>
        )}
      </p>
    </Page>
  );
}
