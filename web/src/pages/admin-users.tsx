// Admin: every account, with activate/deactivate and the role, paged oldest first.
import { useState } from 'preact/hooks';
import { get, patch } from '../api.ts';
import type { PageProps, User } from '../main.tsx';
import { ErrorBanner, formatTime, Loading, Page, useAction, useAsync } from '../ui.tsx';

interface AccountRow extends User {
  created_at: string;
}

export function AdminUsers(props: PageProps) {
  const [cursor, setCursor] = useState<string | undefined>(undefined);
  const page = useAsync(
    () =>
      get<{ users: AccountRow[]; next_cursor: string | null }>(
        `/admin/users?limit=50${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
      ),
    [cursor],
  );
  const [overrides, setOverrides] = useState<Record<string, AccountRow>>({});
  const update = useAction(async (id: string, change: { active?: boolean; role?: 'user' | 'admin' }) => {
    const { user } = await patch<{ user: AccountRow }>(`/admin/users/${id}`, change);
    setOverrides((current) => ({ ...current, [id]: user }));
  });
  const users = (page.data?.users ?? []).map((user) => overrides[user.id] ?? user);
  return (
    <Page title="Users">
      {update.error !== undefined && <ErrorBanner error={update.error} title="Could not change the account" />}
      {page.error !== undefined && <ErrorBanner error={page.error} title="Could not load the users" />}
      {page.loading && !page.data && <Loading label="Loading users…" />}
      {page.data && (
        <div class="table-wrap">
          <table>
            <caption class="sr-only">Accounts</caption>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Email</th>
                <th scope="col">Role</th>
                <th scope="col">Status</th>
                <th scope="col">Created</th>
              </tr>
            </thead>
            <tbody>
              {users.map((user) => {
                const self = user.id === props.user.id;
                return (
                  <tr key={user.id} data-email={user.email}>
                    <td>{user.display_name}</td>
                    <td>{user.email}</td>
                    <td>
                      <label class="sr-only" for={`role-${user.id}`}>
                        Role of {user.email}
                      </label>
                      <select
                        id={`role-${user.id}`}
                        value={user.role}
                        disabled={self || update.busy}
                        onChange={(event) => void update.act(user.id, { role: event.currentTarget.value as 'user' | 'admin' })}
                      >
                        <option value="user">user</option>
                        <option value="admin">admin</option>
                      </select>
                    </td>
                    <td>
                      <span class={`state state-${user.active ? 'ready' : 'failed'}`}>{user.active ? 'active' : 'deactivated'}</span>{' '}
                      {!self && (
                        <button
                          type="button"
                          class="secondary"
                          disabled={update.busy}
                          onClick={() => void update.act(user.id, { active: !user.active })}
                        >
                          {user.active ? 'Deactivate' : 'Activate'}
                          <span class="sr-only"> {user.email}</span>
                        </button>
                      )}
                    </td>
                    <td>{formatTime(user.created_at)}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
      <div class="pager">
        {cursor && (
          <button type="button" class="secondary" onClick={() => setCursor(undefined)}>
            First page
          </button>
        )}
        {page.data?.next_cursor && (
          <button type="button" class="secondary" onClick={() => setCursor(page.data?.next_cursor ?? undefined)}>
            Next page
          </button>
        )}
      </div>
    </Page>
  );
}
