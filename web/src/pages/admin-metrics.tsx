// Admin: the last hour of the whole cluster at a glance: request rate, 5xx ratio and p95
// latency, each a small line chart, from GET /admin/metrics/overview (refreshed each minute).
import { useEffect } from 'preact/hooks';
import { get } from '../api.ts';
import type { PageProps } from '../main.tsx';
import { ErrorBanner, formatTime, Loading, Page, useAsync } from '../ui.tsx';

interface Point {
  at: string;
  request_rate: number;
  error_ratio: number | null;
  p95_ms: number | null;
}

interface Overview {
  step_seconds: number;
  window_seconds: number;
  points: Point[];
}

const WIDTH = 300;
const HEIGHT = 80;

function Chart(props: {
  title: string;
  points: Point[];
  value: (point: Point) => number | null;
  format: (value: number) => string;
  testId: string;
}) {
  const values = props.points.map((point) => ({ t: Date.parse(point.at), v: props.value(point) }));
  const known = values.filter((each): each is { t: number; v: number } => each.v !== null);
  const latest = known.at(-1);
  const max = Math.max(...known.map((each) => each.v), 0);
  const top = max > 0 ? max * 1.1 : 1;
  const first = values[0]?.t ?? 0;
  const span = Math.max(1, (values.at(-1)?.t ?? 1) - first);
  const x = (t: number) => ((t - first) / span) * WIDTH;
  const y = (v: number) => HEIGHT - (v / top) * HEIGHT;
  const path = known.map((each, i) => `${i === 0 ? 'M' : 'L'}${x(each.t).toFixed(1)},${y(each.v).toFixed(1)}`).join(' ');
  const summary = latest
    ? `${props.title}: now ${props.format(latest.v)}, highest ${props.format(max)} over ${known.length} points`
    : `${props.title}: no data yet`;
  return (
    <figure class="chart" data-testid={props.testId}>
      <figcaption>
        <span>{props.title}</span>
        <strong>{latest ? props.format(latest.v) : '—'}</strong>
      </figcaption>
      <svg viewBox={`0 0 ${WIDTH} ${HEIGHT}`} preserveAspectRatio="none" role="img" aria-label={summary}>
        <line class="axis" x1="0" y1={HEIGHT} x2={WIDTH} y2={HEIGHT} />
        {path && <path class="line" d={path} />}
      </svg>
      <p class="muted">Highest {known.length > 0 ? props.format(max) : '—'}</p>
    </figure>
  );
}

export function AdminMetrics(_props: PageProps) {
  const overview = useAsync(() => get<Overview>('/admin/metrics/overview'), []);
  useEffect(() => {
    const timer = setInterval(() => void overview.reload(), 60_000);
    return () => clearInterval(timer);
  }, []);
  const points = overview.data?.points ?? [];
  return (
    <Page title="Metrics">
      {overview.error !== undefined && <ErrorBanner error={overview.error} title="Could not load the metrics" />}
      {overview.loading && !overview.data && <Loading label="Loading metrics…" />}
      {overview.data && (
        <>
          <p class="muted">
            The whole cluster over the last hour, one point every {overview.data.step_seconds} s
            {points.length > 0 && `, from ${formatTime(points[0]?.at)} to ${formatTime(points.at(-1)?.at)}`}.
          </p>
          {points.length === 0 && <p class="empty">No points yet: they appear after two alert evaluations.</p>}
          <div class="charts">
            <Chart
              title="Requests per second"
              testId="chart-rate"
              points={points}
              value={(p) => p.request_rate}
              format={(v) => v.toFixed(2)}
            />
            <Chart
              title="5xx ratio"
              testId="chart-errors"
              points={points}
              value={(p) => p.error_ratio}
              format={(v) => `${(v * 100).toFixed(1)} %`}
            />
            <Chart title="p95 latency" testId="chart-p95" points={points} value={(p) => p.p95_ms} format={(v) => `${v.toFixed(1)} ms`} />
          </div>
        </>
      )}
    </Page>
  );
}
