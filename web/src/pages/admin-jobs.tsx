// Admin: durable jobs at /admin/jobs, filtered by state and type (kept in the address),
// with retry and cancel, refreshed live from the `jobs` topic.
import { useRef } from 'preact/hooks';
import { get, post } from '../api.ts';
import type { PageProps } from '../main.tsx';
import { useTopic } from '../realtime.ts';
import { navigate, useLocation } from '../router.ts';
import { ErrorBanner, formatTime, LiveBadge, Loading, Page, StateBadge, useAction, useAsync } from '../ui.tsx';

const STATES = ['created', 'retry', 'active', 'completed', 'cancelled', 'failed'] as const;

interface Job {
  id: string;
  type: string;
  state: string;
  attempts: number;
  retry_limit: number;
  created_at: string;
  started_at: string | null;
  completed_at: string | null;
  output: unknown;
}

function outputText(output: unknown): string {
  if (output === null || output === undefined) return '';
  if (typeof output === 'object' && 'message' in output) return String((output as { message: unknown }).message);
  return JSON.stringify(output);
}

export function AdminJobs(_props: PageProps) {
  const { query } = useLocation();
  const state = query.get('state') ?? '';
  const type = query.get('type') ?? '';
  const jobs = useAsync(() => {
    const params = new URLSearchParams({ limit: '100' });
    if (state) params.set('state', state);
    if (type) params.set('type', type);
    return get<{ jobs: Job[]; next_cursor: string | null }>(`/admin/jobs?${params}`);
  }, [state, type]);
  // Bursts of job events (an import parses many files) become one reload.
  const timer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  const live = useTopic('jobs', () => {
    clearTimeout(timer.current);
    timer.current = setTimeout(() => void jobs.reload(), 250);
  });
  const act = useAction(async (id: string, action: 'retry' | 'cancel') => {
    await post(`/admin/jobs/${id}/${action}`);
    await jobs.reload();
  });

  const filter = (event: Event) => {
    event.preventDefault();
    const data = new FormData(event.currentTarget as HTMLFormElement);
    const params = new URLSearchParams();
    const nextState = String(data.get('state') ?? '');
    const nextType = String(data.get('type') ?? '').trim();
    if (nextState) params.set('state', nextState);
    if (nextType) params.set('type', nextType);
    navigate(`/admin/jobs${params.size > 0 ? `?${params}` : ''}`);
  };

  return (
    <Page title="Jobs" actions={<LiveBadge state={live} />}>
      <form class="inline-form" onSubmit={filter} aria-label="Filter jobs">
        <div class="field">
          <label for="job-state">State</label>
          <select id="job-state" name="state" key={state} defaultValue={state}>
            <option value="">Any state</option>
            {STATES.map((each) => (
              <option key={each} value={each}>
                {each}
              </option>
            ))}
          </select>
        </div>
        <div class="field">
          <label for="job-type">Type</label>
          <input id="job-type" name="type" key={type} defaultValue={type} placeholder="e.g. documents.parse" />
        </div>
        <button type="submit">Filter</button>
      </form>
      {act.error !== undefined && <ErrorBanner error={act.error} title="The job could not be changed" />}
      {jobs.error !== undefined && <ErrorBanner error={jobs.error} title="Could not load the jobs" />}
      {jobs.loading && !jobs.data && <Loading label="Loading jobs…" />}
      {jobs.data && jobs.data.jobs.length === 0 && <p class="empty">No jobs match.</p>}
      {jobs.data && jobs.data.jobs.length > 0 && (
        <div class="table-wrap">
          <table data-testid="jobs">
            <caption class="sr-only">Jobs, newest first</caption>
            <thead>
              <tr>
                <th scope="col">Type</th>
                <th scope="col">State</th>
                <th scope="col">Attempts</th>
                <th scope="col">Created</th>
                <th scope="col">Finished</th>
                <th scope="col">Output</th>
                <th scope="col">
                  <span class="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {jobs.data.jobs.map((job) => (
                <tr key={job.id} data-job-id={job.id} data-state={job.state}>
                  <td>
                    {job.type}
                    <div class="muted mono">{job.id.slice(0, 8)}</div>
                  </td>
                  <td>
                    <StateBadge state={job.state} />
                  </td>
                  <td>
                    {job.attempts} <span class="muted">(retry limit {job.retry_limit})</span>
                  </td>
                  <td>{formatTime(job.created_at)}</td>
                  <td>{formatTime(job.completed_at)}</td>
                  <td class="output">{outputText(job.output)}</td>
                  <td>
                    {(job.state === 'failed' || job.state === 'cancelled') && (
                      <button type="button" class="secondary" disabled={act.busy} onClick={() => void act.act(job.id, 'retry')}>
                        Retry<span class="sr-only"> job {job.id}</span>
                      </button>
                    )}
                    {(job.state === 'created' || job.state === 'retry' || job.state === 'active') && (
                      <button type="button" class="secondary" disabled={act.busy} onClick={() => void act.act(job.id, 'cancel')}>
                        Cancel<span class="sr-only"> job {job.id}</span>
                      </button>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </Page>
  );
}
