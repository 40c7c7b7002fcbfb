// One poll: vote, and the results as a bar chart kept live over `polls:<id>` (the vote
// consumer publishes new counts each time it applies a batch). The owner can close it.
import { useState } from 'preact/hooks';
import { ApiError, get, post } from '../api.ts';
import type { PageProps } from '../main.tsx';
import { useTopic } from '../realtime.ts';
import { Banner, ErrorBanner, formatTime, LiveBadge, Loading, Page, StateBadge, useAction, useAsync } from '../ui.tsx';
import type { Poll } from './polls.tsx';

interface Results {
  poll_id: string;
  status: 'open' | 'closed';
  options: { option: number; text: string; votes: number }[];
  total: number;
  pending: number | null;
  as_of: string;
}

function BarChart(props: { results: Results }) {
  const { options, total } = props.results;
  const most = Math.max(1, ...options.map((option) => option.votes));
  return (
    <ul class="bars" aria-label="Results" data-testid="results">
      {options.map((option) => {
        const share = total > 0 ? Math.round((option.votes / total) * 100) : 0;
        return (
          <li key={option.option} data-option={option.option} data-votes={option.votes}>
            <span class="bar-label">{option.text}</span>
            <svg class="bar" viewBox="0 0 100 10" preserveAspectRatio="none" aria-hidden="true">
              <rect class="bar-track" width="100" height="10" />
              <rect class="bar-fill" width={(option.votes / most) * 100} height="10" />
            </svg>
            <span class="bar-count">
              {option.votes} {option.votes === 1 ? 'vote' : 'votes'} ({share} %)
            </span>
          </li>
        );
      })}
    </ul>
  );
}

const VOTE_ERRORS: Record<string, [string, string]> = {
  ALREADY_VOTED: ['You have already voted', 'One vote per account: your vote is counted in the results.'],
  POLL_CLOSED: ['This poll is closed', 'Voting has ended; the results are final.'],
};

export function PollPage(props: PageProps) {
  const id = props.params.id as string;
  const poll = useAsync(() => get<{ poll: Poll }>(`/polls/${id}`), [id]);
  const results = useAsync(() => get<{ results: Results }>(`/polls/${id}/results`), [id]);
  const [choice, setChoice] = useState<number | undefined>(undefined);
  const [voted, setVoted] = useState(false);
  const live = useTopic(`polls:${id}`, (event) => {
    const next = event.data as Results;
    // Events can overtake a slower read: keep the fresher counts.
    if (!results.data || Date.parse(next.as_of) >= Date.parse(results.data.results.as_of)) results.set({ results: next });
  });
  const vote = useAction(async () => {
    if (choice === undefined) return;
    await post(`/polls/${id}/votes`, { option: choice });
    setVoted(true);
  });
  const close = useAction(async () => {
    const { poll: closed } = await post<{ poll: Poll }>(`/polls/${id}/close`);
    poll.set({ poll: closed });
    await results.reload();
  });

  if (poll.error !== undefined) {
    const missing = poll.error instanceof ApiError && (poll.error.code === 'NOT_FOUND' || poll.error.code === 'VALIDATION_FAILED');
    return (
      <Page title={missing ? 'Poll not found' : 'Poll'}>
        {missing ? (
          <p>
            There is no poll with this id. Back to <a href="/polls">polls</a>.
          </p>
        ) : (
          <ErrorBanner error={poll.error} title="Could not load the poll" />
        )}
      </Page>
    );
  }
  if (!poll.data) return <Loading label="Loading poll…" />;
  const { poll: current } = poll.data;
  const voteError = vote.error instanceof ApiError ? VOTE_ERRORS[vote.error.code] : undefined;
  const isOwner = current.owner_id === props.user.id || props.user.role === 'admin';

  return (
    <Page title={current.question} actions={<LiveBadge state={live} />}>
      <p class="muted">
        <StateBadge state={current.status} /> Created {formatTime(current.created_at)}
        {current.closes_at && current.status === 'open' && <> · closes {formatTime(current.closes_at)}</>}
        {current.closed_at && <> · closed {formatTime(current.closed_at)}</>}
      </p>
      <p>
        Share this poll: <code>{location.href}</code>
      </p>
      <div class="two-col">
        <section aria-labelledby="vote-heading">
          <h2 id="vote-heading">Vote</h2>
          {voted && (
            <Banner kind="success" title="Vote received">
              It appears in the results within a moment.
            </Banner>
          )}
          {voteError && (
            <Banner kind="warning" title={voteError[0]} testId="banner-vote">
              {voteError[1]}
            </Banner>
          )}
          {vote.error !== undefined && !voteError && (
            // A 503 may come after the vote reached the vote log (its message says so): not "not counted".
            <ErrorBanner
              error={vote.error}
              title={
                vote.error instanceof ApiError && vote.error.code === 'UNAVAILABLE'
                  ? 'Your vote could not be confirmed'
                  : 'Your vote was not counted'
              }
            />
          )}
          <form
            onSubmit={(event) => {
              event.preventDefault();
              void vote.act();
            }}
          >
            <fieldset disabled={current.status === 'closed' || voted}>
              <legend>Your choice</legend>
              {current.options.map((option, i) => (
                <div class="radio" key={option}>
                  <input type="radio" id={`choice-${i}`} name="choice" value={i} checked={choice === i} onChange={() => setChoice(i)} />
                  <label for={`choice-${i}`}>{option}</label>
                </div>
              ))}
              <button type="submit" disabled={choice === undefined || vote.busy}>
                {vote.busy ? 'Voting…' : 'Vote'}
              </button>
            </fieldset>
          </form>
          {isOwner && current.status === 'open' && (
            <p>
              <button type="button" class="secondary" onClick={() => void close.act()} disabled={close.busy}>
                Close the poll
              </button>
            </p>
          )}
          {close.error !== undefined && <ErrorBanner error={close.error} title="Could not close the poll" />}
        </section>
        <section aria-labelledby="results-heading">
          <h2 id="results-heading">Results</h2>
          {results.error !== undefined && <ErrorBanner error={results.error} title="Could not load the results" />}
          {results.loading && !results.data && <Loading label="Loading results…" />}
          {results.data && (
            <>
              <BarChart results={results.data.results} />
              <p class="muted" aria-live="polite">
                {results.data.results.total} {results.data.results.total === 1 ? 'vote' : 'votes'} counted
                {results.data.results.pending ? `, ${results.data.results.pending} being counted` : ''} · as of{' '}
                {formatTime(results.data.results.as_of)}
              </p>
            </>
          )}
        </section>
      </div>
    </Page>
  );
}
