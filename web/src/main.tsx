// The UI's entry: who is signed in (GET /auth/me), the frame (skip link, navigation,
// sign-out) and which page the path shows. Signed-out visitors are sent to sign in.
import { Component, type ComponentChildren, type ComponentType, render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import '../../src/modules/render/themes.css';
import './styles.css';
import { ApiError, get, onSignedOut, post } from './api.ts';
import { AdminAlerts } from './pages/admin-alerts.tsx';
import { AdminJobs } from './pages/admin-jobs.tsx';
import { AdminMetrics } from './pages/admin-metrics.tsx';
import { AdminUsers } from './pages/admin-users.tsx';
import { DocumentView } from './pages/document.tsx';
import { Knowledge } from './pages/knowledge.tsx';
import { PollPage } from './pages/poll.tsx';
import { Polls } from './pages/polls.tsx';
import { ProjectPage } from './pages/project.tsx';
import { Projects } from './pages/projects.tsx';
import { Sessions } from './pages/sessions.tsx';
import { Register, SignIn } from './pages/sign-in.tsx';
import { disconnect } from './realtime.ts';
import { interceptLinks, match, navigate, useLocation } from './router.ts';
import { ErrorBanner, Loading, Page } from './ui.tsx';

export interface User {
  id: string;
  email: string;
  display_name: string;
  role: 'user' | 'admin';
  active: boolean;
}

export interface PageProps {
  user: User;
  params: Record<string, string>;
}

const ROUTES: [string, ComponentType<PageProps>, { admin?: boolean }?][] = [
  ['/projects', Projects],
  ['/projects/:id', ProjectPage],
  ['/documents/:id', DocumentView],
  ['/knowledge', Knowledge],
  ['/polls', Polls],
  ['/polls/:id', PollPage],
  ['/sessions', Sessions],
  ['/admin/users', AdminUsers, { admin: true }],
  ['/admin/jobs', AdminJobs, { admin: true }],
  ['/admin/alerts', AdminAlerts, { admin: true }],
  ['/admin/metrics', AdminMetrics, { admin: true }],
];

const NAV: [string, string, boolean?][] = [
  ['/projects', 'Projects'],
  ['/knowledge', 'Knowledge'],
  ['/polls', 'Polls'],
  ['/sessions', 'Sessions'],
  ['/admin/users', 'Users', true],
  ['/admin/jobs', 'Jobs', true],
  ['/admin/alerts', 'Alerts', true],
  ['/admin/metrics', 'Metrics', true],
];

function Frame(props: { user: User | null; path: string; onSignOut: () => void; children: ComponentChildren }) {
  const { user, path } = props;
  return (
    <>
      <a class="skip-link" href="#main">
        Skip to content
      </a>
      <header class="top">
        <a class="brand" href={user ? '/projects' : '/sign-in'}>
          Rampart
        </a>
        {user && (
          <nav aria-label="Main">
            <ul>
              {NAV.filter(([, , admin]) => !admin || user.role === 'admin').map(([href, label]) => (
                <li key={href}>
                  <a href={href} aria-current={path === href || path.startsWith(`${href}/`) ? 'page' : undefined}>
                    {label}
                  </a>
                </li>
              ))}
            </ul>
          </nav>
        )}
        {user && (
          <div class="who">
            <span>
              {user.display_name}
              {user.role === 'admin' && <span class="muted"> (admin)</span>}
            </span>
            <button type="button" class="link-button" onClick={props.onSignOut}>
              Sign out
            </button>
          </div>
        )}
      </header>
      <main id="main">{props.children}</main>
    </>
  );
}

function NotFound() {
  return (
    <Page title="Page not found">
      <p>
        Nothing lives at this address. Go to <a href="/projects">your projects</a>.
      </p>
    </Page>
  );
}

function Forbidden() {
  return (
    <Page title="Admins only">
      <p>This page is for administrators. Your account does not have the admin role.</p>
    </Page>
  );
}

/** A page that throws while rendering shows what happened instead of a blank screen. */
class PageBoundary extends Component<{ children: ComponentChildren }, { error?: unknown }> {
  static getDerivedStateFromError(error: unknown) {
    return { error };
  }

  render() {
    if (this.state.error === undefined) return this.props.children;
    return (
      <Page title="This page failed">
        <ErrorBanner error={this.state.error} title="The page could not be shown" />
        <button type="button" onClick={() => location.reload()}>
          Reload
        </button>
      </Page>
    );
  }
}

function App() {
  const { path, query } = useLocation();
  const [user, setUser] = useState<User | null | undefined>(undefined);
  const [failure, setFailure] = useState<unknown>(undefined);

  const loadMe = async () => {
    setFailure(undefined);
    try {
      setUser((await get<{ user: User }>('/auth/me')).user);
    } catch (error) {
      if (error instanceof ApiError && error.code === 'UNAUTHENTICATED') setUser(null);
      else setFailure(error);
    }
  };
  useEffect(() => {
    void loadMe();
    return onSignedOut(() => {
      disconnect();
      setUser(null);
    });
  }, []);

  const isPublic = path === '/sign-in' || path === '/register';
  useEffect(() => {
    if (user === null && !isPublic) navigate(`/sign-in?next=${encodeURIComponent(path + location.search)}`, { replace: true });
    if (user && (isPublic || path === '/')) navigate(safeNext(query.get('next')), { replace: true });
  }, [user, path]);

  const signOut = async () => {
    try {
      await post('/auth/logout');
    } catch (error) {
      // Already signed out is what was asked for; anything else is shown.
      if (!(error instanceof ApiError && error.code === 'UNAUTHENTICATED')) {
        setFailure(error);
        return;
      }
    }
    disconnect();
    setUser(null);
    navigate('/sign-in');
  };

  let content: ComponentChildren;
  if (failure) {
    content = (
      <Page title="Rampart is unavailable">
        <ErrorBanner error={failure} title="Could not check your session" />
        <button type="button" onClick={() => void loadMe()}>
          Try again
        </button>
      </Page>
    );
  } else if (user === undefined) content = <Loading label="Checking your session…" />;
  else if (path === '/sign-in') content = <SignIn onSignedIn={setUser} />;
  else if (path === '/register') content = <Register onSignedIn={setUser} />;
  else if (user === null) content = <Loading label="Redirecting to sign in…" />;
  else content = routeContent(path, user);

  return (
    <Frame user={user ?? null} path={path} onSignOut={() => void signOut()}>
      {content}
    </Frame>
  );
}

function routeContent(path: string, user: User) {
  if (path === '/') return <Loading label="Opening your projects…" />;
  for (const [pattern, Component, options] of ROUTES) {
    const params = match(pattern, path);
    if (!params) continue;
    if (options?.admin && user.role !== 'admin') return <Forbidden />;
    return (
      <PageBoundary key={path}>
        <Component user={user} params={params} />
      </PageBoundary>
    );
  }
  return <NotFound />;
}

/** Only a path on this site, never `//elsewhere` or a full URL. */
function safeNext(next: string | null): string {
  return next?.startsWith('/') && !next.startsWith('//') ? next : '/projects';
}

const root = document.getElementById('app') as HTMLElement;
interceptLinks(document.body);
render(<App />, root);
