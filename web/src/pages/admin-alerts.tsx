// Admin: alerts firing and pending, the history of transitions, the rules, and silences
// (created here; the API lists none, so the ones made on this page can be ended here),
// refreshed live from the `alerts` topic.
import { useRef, useState } from 'preact/hooks';
import { del, get, post } from '../api.ts';
import type { PageProps } from '../main.tsx';
import { useTopic } from '../realtime.ts';
import { Banner, ErrorBanner, formatTime, LiveBadge, Loading, Page, StateBadge, useAction, useAsync } from '../ui.tsx';

interface Alert {
  rule: string;
  state: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  value: number | null;
  active_at: string;
  fired_at: string | null;
}

interface HistoryEntry extends Omit<Alert, 'fired_at'> {
  id: string;
  at: string;
}

interface Rule {
  name: string;
  group: string;
  query: string;
  duration: string;
  state: string;
  last_evaluation: string | null;
  last_error: string | null;
}

interface Silence {
  id: string;
  matchers: { name: string; op: string; value: string }[];
  comment: string;
  ends_at: string;
}

function Labels(props: { labels: Record<string, string> }) {
  return (
    <span class="labels">
      {Object.entries(props.labels).map(([name, value]) => (
        <code key={name}>
          {name}={value}
        </code>
      ))}
    </span>
  );
}

function SilenceForm(props: { rule: string; onCreated: (silence: Silence) => void; onCancel: () => void }) {
  const create = useAction(async (form: FormData) => {
    const hours = Number(form.get('hours'));
    const { silence } = await post<{ silence: Silence }>('/admin/silences', {
      matchers: [{ name: 'alertname', op: '=', value: props.rule }],
      comment: String(form.get('comment')).trim(),
      ends_at: new Date(Date.now() + hours * 3_600_000).toISOString(),
    });
    props.onCreated(silence);
  });
  return (
    <form
      class="inline-form silence-form"
      aria-label={`Silence ${props.rule}`}
      onSubmit={(event) => {
        event.preventDefault();
        void create.act(new FormData(event.currentTarget));
      }}
    >
      {create.error !== undefined && <ErrorBanner error={create.error} title="Could not create the silence" />}
      <div class="field">
        <label for={`silence-hours-${props.rule}`}>For how long</label>
        <select id={`silence-hours-${props.rule}`} name="hours" defaultValue="1">
          <option value="1">1 hour</option>
          <option value="4">4 hours</option>
          <option value="24">1 day</option>
        </select>
      </div>
      <div class="field">
        <label for={`silence-comment-${props.rule}`}>Why</label>
        <input id={`silence-comment-${props.rule}`} name="comment" required maxLength={1000} />
      </div>
      <button type="submit" disabled={create.busy}>
        Silence
      </button>
      <button type="button" class="secondary" onClick={props.onCancel}>
        Cancel
      </button>
    </form>
  );
}

export function AdminAlerts(_props: PageProps) {
  const alerts = useAsync(() => get<{ active: Alert[]; history: HistoryEntry[] }>('/admin/alerts?limit=50'), []);
  const rules = useAsync(() => get<{ rules: Rule[] }>('/admin/alert-rules'), []);
  const [silencing, setSilencing] = useState<string | undefined>(undefined);
  const [silences, setSilences] = useState<Silence[]>([]);
  const timer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  const live = useTopic('alerts', () => {
    clearTimeout(timer.current);
    timer.current = setTimeout(() => {
      void alerts.reload();
      void rules.reload();
    }, 200);
  });
  const end = useAction(async (id: string) => {
    await del(`/admin/silences/${id}`);
    setSilences((current) => current.filter((silence) => silence.id !== id));
  });

  const active = alerts.data?.active ?? [];
  const firing = active.filter((alert) => alert.state === 'firing');
  const pending = active.filter((alert) => alert.state === 'pending');

  const alertList = (list: Alert[], label: string) =>
    list.length === 0 ? (
      <p class="empty">None {label}.</p>
    ) : (
      <ul class="alerts">
        {list.map((alert) => (
          <li key={`${alert.rule}:${JSON.stringify(alert.labels)}`} class={`alert alert-${alert.state}`} data-rule={alert.rule}>
            <strong>{alert.rule}</strong> <StateBadge state={alert.state} />
            <p>{alert.annotations.summary ?? alert.annotations.description ?? ''}</p>
            <Labels labels={alert.labels} />
            <p class="muted">
              Active since {formatTime(alert.active_at)}
              {alert.fired_at && ` · firing since ${formatTime(alert.fired_at)}`}
              {alert.value !== null && ` · value ${alert.value}`}
            </p>
            {silencing === alert.rule ? (
              <SilenceForm
                rule={alert.rule}
                onCancel={() => setSilencing(undefined)}
                onCreated={(silence) => {
                  setSilences((current) => [silence, ...current]);
                  setSilencing(undefined);
                }}
              />
            ) : (
              <button type="button" class="secondary" onClick={() => setSilencing(alert.rule)}>
                Silence<span class="sr-only"> {alert.rule}</span>
              </button>
            )}
          </li>
        ))}
      </ul>
    );

  return (
    <Page title="Alerts" actions={<LiveBadge state={live} />}>
      {alerts.error !== undefined && <ErrorBanner error={alerts.error} title="Could not load the alerts" />}
      {end.error !== undefined && <ErrorBanner error={end.error} title="Could not end the silence" />}
      {alerts.loading && !alerts.data && <Loading label="Loading alerts…" />}
      {alerts.data && (
        <div class="two-col">
          <section aria-labelledby="firing-heading" data-testid="firing">
            <h2 id="firing-heading">Firing ({firing.length})</h2>
            {alertList(firing, 'firing')}
          </section>
          <section aria-labelledby="pending-heading">
            <h2 id="pending-heading">Pending ({pending.length})</h2>
            {alertList(pending, 'pending')}
          </section>
        </div>
      )}
      {silences.length > 0 && (
        <section aria-labelledby="silences-heading">
          <h2 id="silences-heading">Silences made here</h2>
          <ul>
            {silences.map((silence) => (
              <li key={silence.id}>
                {silence.matchers.map((m) => `${m.name}${m.op}${m.value}`).join(', ')} until {formatTime(silence.ends_at)}:{' '}
                {silence.comment}{' '}
                <button type="button" class="secondary" onClick={() => void end.act(silence.id)}>
                  End now
                </button>
              </li>
            ))}
          </ul>
        </section>
      )}
      <section aria-labelledby="history-heading">
        <h2 id="history-heading">History</h2>
        {alerts.data && alerts.data.history.length === 0 && <p class="empty">No transitions yet.</p>}
        {alerts.data && alerts.data.history.length > 0 && (
          <div class="table-wrap">
            <table>
              <thead>
                <tr>
                  <th scope="col">When</th>
                  <th scope="col">Rule</th>
                  <th scope="col">State</th>
                  <th scope="col">Labels</th>
                </tr>
              </thead>
              <tbody>
                {alerts.data.history.map((entry) => (
                  <tr key={entry.id}>
                    <td>{formatTime(entry.at)}</td>
                    <td>{entry.rule}</td>
                    <td>
                      <StateBadge state={entry.state} />
                    </td>
                    <td>
                      <Labels labels={entry.labels} />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>
      <section aria-labelledby="rules-heading">
        <h2 id="rules-heading">Rules</h2>
        {rules.error !== undefined && <ErrorBanner error={rules.error} title="Could not load the rules" />}
        {rules.data && (
          <div class="table-wrap">
            <table>
              <thead>
                <tr>
                  <th scope="col">Rule</th>
                  <th scope="col">State</th>
                  <th scope="col">Expression</th>
                  <th scope="col">For</th>
                  <th scope="col">Last evaluation</th>
                </tr>
              </thead>
              <tbody>
                {rules.data.rules.map((rule) => (
                  <tr key={rule.name}>
                    <td>
                      {rule.name}
                      <div class="muted">{rule.group}</div>
                    </td>
                    <td>
                      <StateBadge state={rule.state} />
                    </td>
                    <td class="mono">{rule.query}</td>
                    <td>{rule.duration}</td>
                    <td>
                      {formatTime(rule.last_evaluation)}
                      {rule.last_error && <div class="field-error">{rule.last_error}</div>}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>
      {!alerts.data && !alerts.loading && !alerts.error && <Banner kind="info">No data.</Banner>}
    </Page>
  );
}
