// Pieces every page uses: the page frame (title, focus on arrival), banners, the loading
// and error states, form fields with their messages, the live badge, data loading, formats.
import type { ComponentChildren, InputHTMLAttributes, PartialInputHTMLAttributes } from 'preact';
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, describe } from './api.ts';
import type { LiveState } from './realtime.ts';

export function Page(props: { title: string; actions?: ComponentChildren; children: ComponentChildren }) {
  const heading = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    document.title = `${props.title} · Rampart`;
    // A screen reader hears where a navigation landed; the keyboard starts from here.
    heading.current?.focus();
  }, [props.title]);
  return (
    <>
      <div class="page-head">
        <h1 ref={heading} tabIndex={-1}>
          {props.title}
        </h1>
        {props.actions}
      </div>
      {props.children}
    </>
  );
}

export type BannerKind = 'error' | 'warning' | 'info' | 'success';

export function Banner(props: { kind: BannerKind; title?: string; children?: ComponentChildren; testId?: string }) {
  const role = props.kind === 'error' || props.kind === 'warning' ? 'alert' : 'status';
  return (
    <div class={`banner banner-${props.kind}`} role={role} data-testid={props.testId}>
      {props.title && <strong class="banner-title">{props.title}</strong>}
      {props.children && <div>{props.children}</div>}
    </div>
  );
}

/** Any failure in words, with the request id an operator can look up. */
export function ErrorBanner(props: { error: unknown; title?: string }) {
  const { error } = props;
  const requestId = error instanceof ApiError ? error.requestId : undefined;
  return (
    <Banner kind="error" title={props.title ?? 'Something went wrong'}>
      <p>{describe(error)}</p>
      {error instanceof ApiError && error.details.length > 0 && (
        <ul>
          {error.details.map((detail) => (
            <li key={detail.path}>
              {detail.path.replace(/^(body|query|params)\./, '')}: {detail.message}
            </li>
          ))}
        </ul>
      )}
      {requestId && <p class="muted">Request id: {requestId}</p>}
    </Banner>
  );
}

export function Loading(props: { label?: string }) {
  return (
    <p class="loading" role="status">
      <span class="spinner" aria-hidden="true" />
      {props.label ?? 'Loading…'}
    </p>
  );
}

export interface Async<T> {
  data: T | undefined;
  error: unknown;
  loading: boolean;
  reload: () => Promise<void>;
  set: (data: T) => void;
}

/** Loads when `key` changes; a reload keeps the old data on screen while it runs. */
export function useAsync<T>(load: () => Promise<T>, key: unknown[]): Async<T> {
  const [state, setState] = useState<{ data?: T; error?: unknown; loading: boolean }>({ loading: true });
  const latest = useRef(load);
  latest.current = load;
  const generation = useRef(0);
  const reload = useCallback(async () => {
    const mine = ++generation.current;
    setState((previous) => ({ ...previous, loading: true }));
    try {
      const data = await latest.current();
      if (mine === generation.current) setState({ data, loading: false });
    } catch (error) {
      if (mine === generation.current) setState((previous) => ({ data: previous.data, error, loading: false }));
    }
  }, []);
  // The caller's key decides when to load again.
  useEffect(() => {
    void reload();
  }, key);
  return { data: state.data, error: state.error, loading: state.loading, reload, set: (data: T) => setState({ data, loading: false }) };
}

/** Field messages from VALIDATION_FAILED details, by field name (`body.email` → `email`). */
export function fieldErrors(error: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (!(error instanceof ApiError) || error.code !== 'VALIDATION_FAILED') return out;
  for (const detail of error.details) {
    const name = detail.path.replace(/^(body|query|params)\./, '').split('.')[0] ?? '';
    out[name] ??= detail.message;
  }
  return out;
}

type InputProps = Omit<PartialInputHTMLAttributes<HTMLInputElement>, 'name' | 'role'> & { name: string };

export function Field(props: { label: string; hint?: ComponentChildren; error?: string } & InputProps) {
  const { label, hint, error, name, ...input } = props;
  const id = `field-${name}`;
  const described = [hint ? `${id}-hint` : '', error ? `${id}-error` : ''].filter(Boolean).join(' ') || undefined;
  return (
    <div class="field">
      <label for={id}>{label}</label>
      {hint && (
        <p class="hint" id={`${id}-hint`}>
          {hint}
        </p>
      )}
      <input
        id={id}
        name={name}
        aria-invalid={error ? 'true' : undefined}
        aria-describedby={described}
        {...(input as InputHTMLAttributes)}
      />
      {error && (
        <p class="field-error" id={`${id}-error`}>
          {label} {error}
        </p>
      )}
    </div>
  );
}

const LIVE_TEXT: Record<LiveState, string> = {
  connecting: 'Connecting…',
  live: 'Live',
  offline: 'Offline, reconnecting',
  refused: 'Not live',
};

export function LiveBadge(props: { state: LiveState }) {
  return (
    <span class={`live live-${props.state}`} role="status" data-live={props.state}>
      <span class="dot" aria-hidden="true" />
      {LIVE_TEXT[props.state]}
    </span>
  );
}

export function StateBadge(props: { state: string }) {
  return <span class={`state state-${props.state}`}>{props.state}</span>;
}

export function formatTime(iso: string | null | undefined): string {
  if (!iso) return '—';
  return new Date(iso).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'medium' });
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

/** Calls `run` and keeps its error and busy state for a button or form. */
export function useAction<A extends unknown[]>(run: (...args: A) => Promise<void>) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(undefined);
  const act = async (...args: A) => {
    setBusy(true);
    setError(undefined);
    try {
      await run(...args);
    } catch (caught) {
      setError(caught);
    } finally {
      setBusy(false);
    }
  };
  return { act, busy, error, clear: () => setError(undefined) };
}
