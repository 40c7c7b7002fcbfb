// Polls: create one (2 to 20 options, optional closing time), my polls, and opening anyone's
// poll from its link or id (polls are shared by link).
import { useState } from 'preact/hooks';
import { get, post } from '../api.ts';
import type { PageProps } from '../main.tsx';
import { navigate } from '../router.ts';
import { ErrorBanner, Field, fieldErrors, formatTime, Loading, Page, StateBadge, useAction, useAsync } from '../ui.tsx';

export interface Poll {
  id: string;
  owner_id: string;
  question: string;
  options: string[];
  status: 'open' | 'closed';
  closes_at: string | null;
  closed_at: string | null;
  created_at: string;
}

const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/i;

export function Polls(_props: PageProps) {
  const polls = useAsync(() => get<{ polls: Poll[]; next_cursor: string | null }>('/polls?limit=50'), []);
  const [options, setOptions] = useState(['', '']);
  const [openError, setOpenError] = useState<string | undefined>(undefined);
  const create = useAction(async (form: FormData) => {
    const closes = String(form.get('closes_at') ?? '');
    const body: Record<string, unknown> = {
      question: String(form.get('question')).trim(),
      options: options.map((option) => option.trim()),
    };
    if (closes) body.closes_at = new Date(closes).toISOString();
    const { poll } = await post<{ poll: Poll }>('/polls', body);
    navigate(`/polls/${poll.id}`);
  });
  const fields = fieldErrors(create.error);

  const openPoll = (event: Event) => {
    event.preventDefault();
    const id = UUID.exec(String(new FormData(event.currentTarget as HTMLFormElement).get('poll')))?.[0];
    if (id) navigate(`/polls/${id}`);
    else setOpenError('Paste a poll link or its id (a UUID).');
  };

  return (
    <Page title="Polls">
      <div class="two-col">
        <section aria-labelledby="new-poll">
          <h2 id="new-poll">New poll</h2>
          {create.error !== undefined && <ErrorBanner error={create.error} title="Could not create the poll" />}
          <form
            onSubmit={(event) => {
              event.preventDefault();
              void create.act(new FormData(event.currentTarget));
            }}
          >
            <Field label="Question" name="question" required maxLength={500} error={fields.question} />
            <fieldset>
              <legend>Options (2 to 20)</legend>
              {options.map((option, i) => (
                <div class="option-row" key={i}>
                  <label for={`option-${i}`}>Option {i + 1}</label>
                  <input
                    id={`option-${i}`}
                    value={option}
                    required
                    maxLength={200}
                    onInput={(event) => {
                      const value = event.currentTarget.value;
                      setOptions((current) => current.map((each, j) => (j === i ? value : each)));
                    }}
                  />
                  {options.length > 2 && (
                    <button type="button" class="secondary" onClick={() => setOptions((current) => current.filter((_, j) => j !== i))}>
                      Remove<span class="sr-only"> option {i + 1}</span>
                    </button>
                  )}
                </div>
              ))}
              {fields.options && <p class="field-error">Options {fields.options}</p>}
              <button
                type="button"
                class="secondary"
                disabled={options.length >= 20}
                onClick={() => setOptions((current) => [...current, ''])}
              >
                Add an option
              </button>
            </fieldset>
            <Field label="Closes at (optional)" name="closes_at" type="datetime-local" error={fields.closes_at} />
            <button type="submit" disabled={create.busy}>
              {create.busy ? 'Creating…' : 'Create poll'}
            </button>
          </form>
        </section>
        <section aria-labelledby="open-poll">
          <h2 id="open-poll">Open a poll</h2>
          <form class="inline-form" onSubmit={openPoll}>
            <Field label="Poll link or id" name="poll" required error={openError} />
            <button type="submit">Open</button>
          </form>
          <h2>My polls</h2>
          {polls.error !== undefined && <ErrorBanner error={polls.error} title="Could not load your polls" />}
          {polls.loading && !polls.data && <Loading label="Loading polls…" />}
          {polls.data && polls.data.polls.length === 0 && <p class="empty">You have not created a poll yet.</p>}
          <ul class="cards">
            {polls.data?.polls.map((poll) => (
              <li key={poll.id}>
                <a href={`/polls/${poll.id}`}>{poll.question}</a>
                <span class="muted">
                  <StateBadge state={poll.status} /> created {formatTime(poll.created_at)}
                </span>
              </li>
            ))}
          </ul>
        </section>
      </div>
    </Page>
  );
}
