// A job enqueued while every worker sits out a long poll starts at once: its queue's NOTIFY,
// sent when the enqueueing transaction commits, wakes the worker (PGlite in-process, Postgres
// over pg-boss's listening connection).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, registerAndLogin } from '../../helpers/accounts.ts';
import { shapes } from '../../helpers/shapes.ts';
import { startTestApp, type TestApp } from '../../helpers/test-app.ts';
import { eventually } from '../../helpers/wait.ts';

describe.each(shapes)('jobs woken by NOTIFY (%s shape)', (shape) => {
  let t: TestApp;
  let user: Record<string, string>;
  let projectId: string;
  beforeAll(async () => {
    // Ten minutes between polls: only a notification can start a job within the test's wait.
    t = await startTestApp(shape, { env: { JOB_POLL_INTERVAL_SECONDS: '600', JOB_NOTIFY_POLL_INTERVAL_SECONDS: '600' } });
    user = bearer((await registerAndLogin(t.app)).token);
    projectId = (await t.app.inject({ method: 'POST', url: '/api/v1/projects', payload: { name: 'notify' }, headers: user })).json().project
      .id;
  });
  afterAll(() => t.close());

  const parsed = async (path: string) => {
    const response = await t.app.inject({
      method: 'POST',
      url: `/api/v1/projects/${projectId}/documents`,
      payload: { path, content: 'export const a = 1;\n' },
      headers: user,
    });
    expect(response.statusCode).toBe(202);
    const id = response.json().document.id as string;
    return eventually(async () => {
      const [row] = await t.platform.db.query<{ state: string }>('select state from documents where id = $1', [id]);
      return row?.state === 'ready';
    }, 30_000);
  };

  it('parses an upload while the workers wait out a ten-minute poll, twice in a row', async () => {
    // The first may meet the workers' first fetch at start; by the second they are all waiting.
    await parsed('first.ts');
    await parsed('second.ts');
  });
});
