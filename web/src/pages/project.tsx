// One project: its documents by folder (path prefix), search as you type, uploads and
// imports, and each document's parse state kept live over `documents:<project_id>`.
import { useEffect, useRef, useState } from 'preact/hooks';
import { get } from '../api.ts';
import type { PageProps } from '../main.tsx';
import { useTopic } from '../realtime.ts';
import { navigate, useLocation } from '../router.ts';
import { ErrorBanner, formatBytes, formatTime, LiveBadge, Loading, Page, StateBadge, useAsync } from '../ui.tsx';
import type { Project } from './projects.tsx';
import { ArchiveImport, Uploads } from './uploads.tsx';

export interface Listing {
  id: string;
  project_id: string;
  path: string;
  state: 'pending' | 'ready' | 'failed';
  size_bytes: number;
  language: string | null;
  updated_at: string;
}

/** Sub-folders directly under `prefix` among these paths. */
function foldersUnder(prefix: string, documents: Listing[]): string[] {
  const folders = new Set<string>();
  for (const document of documents) {
    const rest = document.path.slice(prefix.length);
    const slash = rest.indexOf('/');
    if (slash > 0) folders.add(rest.slice(0, slash + 1));
  }
  return [...folders].sort();
}

function Breadcrumbs(props: { projectId: string; name: string; prefix: string }) {
  const parts = props.prefix.split('/').filter(Boolean);
  const base = `/projects/${props.projectId}`;
  return (
    <nav aria-label="Folder" class="crumbs">
      <ol>
        <li>
          <a href={base} aria-current={parts.length === 0 ? 'page' : undefined}>
            {props.name}
          </a>
        </li>
        {parts.map((part, i) => {
          const prefix = `${parts.slice(0, i + 1).join('/')}/`;
          return (
            <li key={prefix}>
              <a href={`${base}?prefix=${encodeURIComponent(prefix)}`} aria-current={i === parts.length - 1 ? 'page' : undefined}>
                {part}
              </a>
            </li>
          );
        })}
      </ol>
    </nav>
  );
}

export function ProjectPage(props: PageProps) {
  const projectId = props.params.id as string;
  const { query } = useLocation();
  const prefix = query.get('prefix') ?? '';
  const [search, setSearch] = useState('');
  const [q, setQ] = useState('');
  // Search as you type, a quarter second after the last key.
  useEffect(() => {
    const timer = setTimeout(() => setQ(search.trim()), 250);
    return () => clearTimeout(timer);
  }, [search]);

  const project = useAsync(async () => {
    const { projects } = await get<{ projects: Project[] }>('/projects');
    return projects.find((each) => each.id === projectId) ?? null;
  }, [projectId]);
  const documents = useAsync(() => {
    const params = new URLSearchParams({ limit: '500' });
    if (q) params.set('q', q);
    else if (prefix) params.set('prefix', prefix);
    return get<{ documents: Listing[]; next_cursor: string | null }>(`/projects/${projectId}/documents?${params}`);
  }, [projectId, prefix, q]);

  // A document the list has not seen yet (an import's) needs a reload; a known one just changes state.
  const reloadTimer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  const reloadSoon = () => {
    clearTimeout(reloadTimer.current);
    reloadTimer.current = setTimeout(() => void documents.reload(), 300);
  };
  const live = useTopic(`documents:${projectId}`, (event) => {
    const change = event.data as { id: string; state: Listing['state'] };
    const current = documents.data;
    if (current?.documents.some((document) => document.id === change.id)) {
      documents.set({
        ...current,
        documents: current.documents.map((document) => (document.id === change.id ? { ...document, state: change.state } : document)),
      });
    } else reloadSoon();
  });

  if (project.error !== undefined)
    return (
      <Page title="Project">
        <ErrorBanner error={project.error} title="Could not load the project" />
      </Page>
    );
  if (project.data === undefined) return <Loading label="Loading project…" />;
  if (project.data === null)
    return (
      <Page title="Project not found">
        <p>
          There is no project with this id among yours. Back to <a href="/projects">your projects</a>.
        </p>
      </Page>
    );

  // Until the folder's own listing arrives, the one on screen may be another folder's (the
  // previous page's): only its paths under this prefix belong here.
  const list = (documents.data?.documents ?? []).filter((document) => q !== '' || document.path.startsWith(prefix));
  const here = q ? list : list.filter((document) => !document.path.slice(prefix.length).includes('/'));
  const folders = q ? [] : foldersUnder(prefix, list);

  return (
    <Page title={project.data.name} actions={<LiveBadge state={live} />}>
      <div class="two-col">
        <Uploads projectId={projectId} prefix={prefix} onUploaded={reloadSoon} />
        <ArchiveImport projectId={projectId} onImported={reloadSoon} />
      </div>
      <section aria-labelledby="documents-heading">
        <h2 id="documents-heading">Documents</h2>
        <div class="toolbar">
          <label for="doc-search">Search file names</label>
          <input
            id="doc-search"
            type="search"
            value={search}
            placeholder="e.g. readme"
            onInput={(event) => setSearch(event.currentTarget.value)}
          />
        </div>
        {!q && <Breadcrumbs projectId={projectId} name={project.data.name} prefix={prefix} />}
        {documents.error !== undefined && <ErrorBanner error={documents.error} title="Could not load the documents" />}
        {documents.loading && !documents.data && <Loading label="Loading documents…" />}
        {documents.data && here.length === 0 && folders.length === 0 && (
          <p class="empty">{q ? `No file name contains “${q}”.` : 'No documents here yet. Upload files or import an archive.'}</p>
        )}
        {(folders.length > 0 || here.length > 0) && (
          <div class="table-wrap">
            <table aria-describedby="documents-heading" data-testid="documents">
              <thead>
                <tr>
                  <th scope="col">Path</th>
                  <th scope="col">State</th>
                  <th scope="col">Size</th>
                  <th scope="col">Language</th>
                  <th scope="col">Updated</th>
                </tr>
              </thead>
              <tbody>
                {folders.map((folder) => (
                  <tr key={`folder:${folder}`}>
                    <td colSpan={5}>
                      <a href={`/projects/${projectId}?prefix=${encodeURIComponent(prefix + folder)}`} class="folder">
                        <span aria-hidden="true">📁 </span>
                        {folder}
                      </a>
                    </td>
                  </tr>
                ))}
                {here.map((document) => (
                  <tr key={document.id} data-path={document.path}>
                    <td>
                      <a href={`/documents/${document.id}`}>{q ? document.path : document.path.slice(prefix.length)}</a>
                    </td>
                    <td>
                      <StateBadge state={document.state} />
                    </td>
                    <td>{formatBytes(document.size_bytes)}</td>
                    <td>{document.language ?? '—'}</td>
                    <td>{formatTime(document.updated_at)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
        {documents.data?.next_cursor && <p class="muted">Showing the first 500; narrow the folder or search to see the rest.</p>}
        {prefix && !q && (
          <button type="button" class="secondary" onClick={() => navigate(`/projects/${projectId}`)}>
            Back to the top folder
          </button>
        )}
      </section>
    </Page>
  );
}
