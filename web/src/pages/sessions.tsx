// My sessions: where I am signed in, with revoke-one and revoke-all-others.
import { useState } from 'preact/hooks';
import { del, get, post } from '../api.ts';
import type { PageProps } from '../main.tsx';
import { Banner, ErrorBanner, formatTime, Loading, Page, useAction, useAsync } from '../ui.tsx';

interface Session {
  id: string;
  created_at: string;
  last_seen_at: string;
  expires_at: string;
  ip: string | null;
  user_agent: string | null;
  current: boolean;
}

export function Sessions(_props: PageProps) {
  const sessions = useAsync(() => get<{ sessions: Session[] }>('/auth/sessions'), []);
  const [notice, setNotice] = useState<string | undefined>(undefined);
  const revoke = useAction(async (id: string) => {
    await del(`/auth/sessions/${id}`);
    // The list reloads before the notice so the status never announces a table it does not show yet.
    await sessions.reload();
    setNotice('Session revoked.');
  });
  const revokeOthers = useAction(async () => {
    const { revoked } = await post<{ revoked: number }>('/auth/sessions/revoke-others');
    await sessions.reload();
    setNotice(revoked === 1 ? 'Signed out 1 other session.' : `Signed out ${revoked} other sessions.`);
  });
  const list = sessions.data?.sessions ?? [];
  return (
    <Page
      title="My sessions"
      actions={
        <button type="button" onClick={() => void revokeOthers.act()} disabled={revokeOthers.busy || list.length < 2}>
          Sign out all other sessions
        </button>
      }
    >
      {notice && <Banner kind="success">{notice}</Banner>}
      {revoke.error !== undefined && <ErrorBanner error={revoke.error} title="Could not revoke the session" />}
      {revokeOthers.error !== undefined && <ErrorBanner error={revokeOthers.error} title="Could not sign out the other sessions" />}
      {sessions.error !== undefined && <ErrorBanner error={sessions.error} title="Could not load your sessions" />}
      {sessions.loading && !sessions.data && <Loading label="Loading sessions…" />}
      {sessions.data && (
        <div class="table-wrap">
          <table>
            <caption class="sr-only">Active sessions</caption>
            <thead>
              <tr>
                <th scope="col">Device</th>
                <th scope="col">Address</th>
                <th scope="col">Signed in</th>
                <th scope="col">Last seen</th>
                <th scope="col">Expires</th>
                <th scope="col">
                  <span class="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {list.map((session) => (
                <tr key={session.id}>
                  <td>
                    {session.user_agent ?? 'Unknown device'}
                    {session.current && <span class="tag">This session</span>}
                  </td>
                  <td>{session.ip ?? '—'}</td>
                  <td>{formatTime(session.created_at)}</td>
                  <td>{formatTime(session.last_seen_at)}</td>
                  <td>{formatTime(session.expires_at)}</td>
                  <td>
                    <button type="button" class="secondary" onClick={() => void revoke.act(session.id)} disabled={revoke.busy}>
                      {session.current ? 'Sign out here' : 'Revoke'}
                    </button>
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
