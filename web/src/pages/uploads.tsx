// Getting files into a project: upload (file picker or drag-and-drop, progress per file) and
// archive import (upload progress, then the import job followed to its result).
import { useRef, useState } from 'preact/hooks';
import { ApiError, describe, get, upload } from '../api.ts';
import { Banner, formatBytes } from '../ui.tsx';

interface Item {
  key: string;
  name: string;
  size: number;
  progress: number;
  state: 'uploading' | 'done' | 'failed';
  error?: string;
}

export function Uploads(props: { projectId: string; prefix: string; onUploaded: () => void }) {
  const [items, setItems] = useState<Item[]>([]);
  const [dragging, setDragging] = useState(false);
  const input = useRef<HTMLInputElement>(null);

  const update = (key: string, change: Partial<Item>) =>
    setItems((current) => current.map((item) => (item.key === key ? { ...item, ...change } : item)));

  const send = (files: File[]) => {
    const batch = files.map((file, i) => ({ file, key: `${Date.now()}-${i}-${file.name}` }));
    setItems((current) => [
      ...batch.map(({ file, key }) => ({ key, name: props.prefix + file.name, size: file.size, progress: 0, state: 'uploading' as const })),
      ...current,
    ]);
    for (const { file, key } of batch) {
      const form = new FormData();
      // The `path` field names the file that follows it.
      form.append('path', props.prefix + file.name);
      form.append('file', file, file.name);
      upload(`/projects/${props.projectId}/documents`, form, undefined, (progress) => update(key, { progress }))
        .then(() => {
          update(key, { state: 'done', progress: 1 });
          props.onUploaded();
        })
        .catch((error: unknown) => update(key, { state: 'failed', error: describe(error) }));
    }
  };

  const onDrop = (event: DragEvent) => {
    event.preventDefault();
    setDragging(false);
    const files = [...(event.dataTransfer?.files ?? [])];
    if (files.length > 0) send(files);
  };

  return (
    <section aria-labelledby="upload-heading">
      <h2 id="upload-heading">Upload files</h2>
      {/* biome-ignore lint/a11y/noStaticElementInteractions: dropping is a pointer shortcut; the file input inside does the same from the keyboard */}
      <div
        class={`dropzone${dragging ? ' dragging' : ''}`}
        data-testid="dropzone"
        onDragOver={(event) => {
          event.preventDefault();
          setDragging(true);
        }}
        onDragLeave={() => setDragging(false)}
        onDrop={onDrop}
      >
        <p>
          Drop files here, or <label for="upload-input">choose files</label>. They go into <code>{props.prefix || '/'}</code>.
        </p>
        <input
          id="upload-input"
          ref={input}
          type="file"
          multiple
          onChange={() => {
            const files = [...(input.current?.files ?? [])];
            if (files.length > 0) send(files);
            if (input.current) input.current.value = '';
          }}
        />
      </div>
      {items.length > 0 && (
        <ul class="progress-list" aria-label="Uploads">
          {items.map((item) => (
            <li key={item.key} data-state={item.state}>
              <span class="path">{item.name}</span>
              <span class="muted">{formatBytes(item.size)}</span>
              <progress max={1} value={item.progress} aria-label={`Upload of ${item.name}`} />
              <span class={`state state-${item.state === 'done' ? 'ready' : item.state === 'failed' ? 'failed' : 'pending'}`}>
                {item.state === 'uploading' ? `${Math.round(item.progress * 100)} %` : item.state === 'done' ? 'uploaded' : 'failed'}
              </span>
              {item.error && <span class="field-error">{item.error}</span>}
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

const ARCHIVE_TYPES: [RegExp, string][] = [
  [/\.zip$/i, 'application/zip'],
  [/\.(tar\.gz|tgz)$/i, 'application/gzip'],
  [/\.tar$/i, 'application/x-tar'],
];

interface ImportStatus {
  id: string;
  state: string;
  result: { status: 'imported'; files: number; changed: number } | { status: 'rejected'; reason: string } | null;
}

type Phase =
  | { step: 'idle' }
  | { step: 'uploading'; progress: number; name: string }
  | { step: 'importing'; name: string; state: string }
  | { step: 'done'; name: string; status: ImportStatus }
  | { step: 'failed'; name: string; error: unknown };

export function ArchiveImport(props: { projectId: string; onImported: () => void }) {
  const [phase, setPhase] = useState<Phase>({ step: 'idle' });
  const input = useRef<HTMLInputElement>(null);

  const start = async (file: File) => {
    const type = ARCHIVE_TYPES.find(([pattern]) => pattern.test(file.name))?.[1];
    if (!type) {
      setPhase({
        step: 'failed',
        name: file.name,
        error: new ApiError(415, 'UNSUPPORTED_MEDIA_TYPE', 'Choose a .zip, .tar, .tar.gz or .tgz file'),
      });
      return;
    }
    try {
      setPhase({ step: 'uploading', progress: 0, name: file.name });
      const { job } = await upload<{ job: { id: string } }>(`/projects/${props.projectId}/import`, file, type, (progress) =>
        setPhase({ step: 'uploading', progress, name: file.name }),
      );
      for (;;) {
        const { import: status } = await get<{ import: ImportStatus }>(`/projects/${props.projectId}/imports/${job.id}`);
        if (status.result || status.state === 'failed' || status.state === 'cancelled') {
          setPhase({ step: 'done', name: file.name, status });
          props.onImported();
          return;
        }
        setPhase({ step: 'importing', name: file.name, state: status.state });
        await new Promise((resolve) => setTimeout(resolve, 700));
      }
    } catch (error) {
      setPhase({ step: 'failed', name: file.name, error });
    }
  };

  const busy = phase.step === 'uploading' || phase.step === 'importing';
  return (
    <section aria-labelledby="import-heading">
      <h2 id="import-heading">Import an archive</h2>
      <p class="hint">A .zip, .tar or .tar.gz; its files keep their folders.</p>
      <label for="import-input">Archive file</label>
      <input
        id="import-input"
        ref={input}
        type="file"
        accept=".zip,.tar,.tar.gz,.tgz"
        disabled={busy}
        onChange={() => {
          const file = input.current?.files?.[0];
          if (file) void start(file);
          if (input.current) input.current.value = '';
        }}
      />
      {phase.step === 'uploading' && (
        <div class="import-progress">
          <progress max={1} value={phase.progress} aria-label={`Upload of ${phase.name}`} /> Uploading {phase.name}:{' '}
          {Math.round(phase.progress * 100)} %
        </div>
      )}
      {phase.step === 'importing' && (
        <p role="status">
          Importing {phase.name}… (job {phase.state})
        </p>
      )}
      {phase.step === 'done' && phase.status.result?.status === 'imported' && (
        <Banner kind="success" title="Archive imported" testId="import-result">
          {phase.name}: {phase.status.result.files} files imported, {phase.status.result.changed} new or changed.
        </Banner>
      )}
      {phase.step === 'done' && phase.status.result?.status !== 'imported' && (
        <Banner kind="error" title="Archive not imported" testId="import-result">
          {phase.status.result?.status === 'rejected' ? phase.status.result.reason : `The import job ended ${phase.status.state}.`}
        </Banner>
      )}
      {phase.step === 'failed' && (
        <Banner kind="error" title="Archive not imported" testId="import-result">
          {phase.name}: {describe(phase.error)}
        </Banner>
      )}
    </section>
  );
}
