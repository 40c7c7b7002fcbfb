// Sign in and register: a distinct banner for each way signing in fails (bad credentials,
// deactivated account, too many attempts with the Retry-After wait counting down), field
// messages from VALIDATION_FAILED, and the password policy stated before anyone submits.
import { useEffect, useState } from 'preact/hooks';
import { ApiError, post } from '../api.ts';
import type { User } from '../main.tsx';
import { Banner, ErrorBanner, Field, fieldErrors, Page } from '../ui.tsx';

/** Counts down to zero once a second from the moment `seconds` is set. */
function useCountdown(): [number, (seconds: number) => void] {
  const [until, setUntil] = useState(0);
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    if (until <= now) return;
    const timer = setTimeout(() => setNow(Date.now()), 500);
    return () => clearTimeout(timer);
  }, [until, now]);
  const remaining = Math.max(0, Math.ceil((until - now) / 1000));
  return [
    remaining,
    (seconds) => {
      setNow(Date.now());
      setUntil(Date.now() + seconds * 1000);
    },
  ];
}

function formatWait(seconds: number): string {
  const minutes = Math.floor(seconds / 60);
  const rest = seconds % 60;
  return minutes > 0 ? `${minutes}:${String(rest).padStart(2, '0')}` : `${rest} s`;
}

function FailureBanner(props: { error: unknown; remaining: number }) {
  const { error, remaining } = props;
  if (!(error instanceof ApiError)) return <ErrorBanner error={error} />;
  switch (error.code) {
    case 'BAD_CREDENTIALS':
      return (
        <Banner kind="error" title="Wrong email or password" testId="banner-bad-credentials">
          Check both and try again. After five failed attempts, signing in is paused for a while.
        </Banner>
      );
    case 'INACTIVE_ACCOUNT':
      return (
        <Banner kind="error" title="This account is deactivated" testId="banner-inactive">
          The password is right, but an administrator has deactivated the account. Ask an administrator to reactivate it.
        </Banner>
      );
    case 'RATE_LIMITED':
      return (
        <Banner kind="warning" title="Too many attempts" testId="banner-rate-limited">
          {remaining > 0 ? (
            <>
              Signing in is paused. Try again in <span class="countdown">{formatWait(remaining)}</span>.
            </>
          ) : (
            'You can try again now.'
          )}
        </Banner>
      );
    case 'VALIDATION_FAILED':
      return (
        <Banner kind="error" title="Check the highlighted fields" testId="banner-validation">
          {error.message}
        </Banner>
      );
    default:
      return <ErrorBanner error={error} title="Could not sign in" />;
  }
}

export function SignIn(props: { onSignedIn: (user: User) => void }) {
  const [error, setError] = useState<unknown>(undefined);
  const [busy, setBusy] = useState(false);
  const [remaining, startCountdown] = useCountdown();
  const fields = fieldErrors(error);

  const submit = async (event: Event) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget as HTMLFormElement);
    setBusy(true);
    setError(undefined);
    try {
      const { user } = await post<{ user: User }>('/auth/login', {
        email: String(form.get('email')),
        password: String(form.get('password')),
      });
      props.onSignedIn(user);
    } catch (caught) {
      setError(caught);
      if (caught instanceof ApiError && caught.code === 'RATE_LIMITED') startCountdown(caught.retryAfter ?? 60);
    } finally {
      setBusy(false);
    }
  };

  return (
    <Page title="Sign in">
      <div class="narrow">
        {error !== undefined && <FailureBanner error={error} remaining={remaining} />}
        <form onSubmit={submit} noValidate>
          <Field label="Email" name="email" type="email" autocomplete="username" required error={fields.email} />
          <Field label="Password" name="password" type="password" autocomplete="current-password" required error={fields.password} />
          <button type="submit" disabled={busy || remaining > 0}>
            {busy ? 'Signing in…' : 'Sign in'}
          </button>
        </form>
        <p>
          No account yet? <a href="/register">Create one</a>.
        </p>
      </div>
    </Page>
  );
}

export function Register(props: { onSignedIn: (user: User) => void }) {
  const [error, setError] = useState<unknown>(undefined);
  const [busy, setBusy] = useState(false);
  const [remaining, startCountdown] = useCountdown();
  const fields = fieldErrors(error);

  const submit = async (event: Event) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget as HTMLFormElement);
    const body = {
      email: String(form.get('email')),
      display_name: String(form.get('display_name')),
      password: String(form.get('password')),
    };
    setBusy(true);
    setError(undefined);
    try {
      await post('/auth/register', body);
      const { user } = await post<{ user: User }>('/auth/login', { email: body.email, password: body.password });
      props.onSignedIn(user);
    } catch (caught) {
      setError(caught);
      if (caught instanceof ApiError && caught.code === 'RATE_LIMITED') startCountdown(caught.retryAfter ?? 60);
    } finally {
      setBusy(false);
    }
  };

  return (
    <Page title="Create an account">
      <div class="narrow">
        {error instanceof ApiError && error.code === 'CONFLICT' ? (
          <Banner kind="error" title="That email is taken" testId="banner-conflict">
            An account with this email exists. <a href="/sign-in">Sign in</a> instead.
          </Banner>
        ) : (
          error !== undefined && <FailureBanner error={error} remaining={remaining} />
        )}
        <form onSubmit={submit} noValidate>
          <Field label="Email" name="email" type="email" autocomplete="email" required error={fields.email} />
          <Field label="Display name" name="display_name" autocomplete="nickname" required maxLength={100} error={fields.display_name} />
          <Field
            label="Password"
            name="password"
            type="password"
            autocomplete="new-password"
            required
            hint="12 to 256 characters. Common passwords are refused; no other rules: a long phrase you remember is best."
            error={fields.password}
          />
          <button type="submit" disabled={busy || remaining > 0}>
            {busy ? 'Creating…' : 'Create account'}
          </button>
        </form>
        <p>
          Already registered? <a href="/sign-in">Sign in</a>.
        </p>
      </div>
    </Page>
  );
}
