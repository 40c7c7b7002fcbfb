// Durable jobs: enqueue inside a transaction, retries, the admin jobs API, and request ids carried into jobs.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobContext } from '../../../src/platform/jobs/queue.ts';
import { bearer, registerAndLogin } from '../../helpers/accounts.ts';
import { shapes } from '../../helpers/shapes.ts';
import { startTestApp, type TestApp } from '../../helpers/test-app.ts';
import { eventually } from '../../helpers/wait.ts';

describe.each(shapes)('durable jobs (%s shape)', (shape) => {
  let t: TestApp;
  let admin: Record<string, string>;
  let user: Record<string, string>;
  let projectId: string;
  const crashes: JobContext[] = [];
  beforeAll(async () => {
    t = await startTestApp(shape, {
      modules: {
        documents: {
          // The worker "dies" after its first write on the first attempt at crash-*.ts.
          afterFirstParseWrite(job) {
            if (job.attempt === 0 && crashes.every((crash) => crash.id !== job.id)) {
              crashes.push(job);
              throw new Error('simulated crash after the first write');
            }
          },
        },
      },
    });
    const adminAccount = await registerAndLogin(t.app);
    await t.platform.db.query("update users set role = 'admin' where id = $1", [adminAccount.userId]);
    admin = bearer(adminAccount.token);
    user = bearer((await registerAndLogin(t.app)).token);
    projectId = (await t.app.inject({ method: 'POST', url: '/api/v1/projects', payload: { name: 'jobs' }, headers: user })).json().project
      .id;
  });
  afterAll(() => t.close());

  const upload = (path: string, content: string, headers: Record<string, string> = {}) =>
    t.app.inject({
      method: 'POST',
      url: `/api/v1/projects/${projectId}/documents`,
      payload: { path, content },
      headers: { ...user, ...headers },
    });

  it('retries a job that crashed mid-flow; its half-done write was rolled back and the effect happens once', async () => {
    const { document } = (await upload('crash-one.ts', 'export const a = 1;\n', { 'x-request-id': 'upload-crash-1' })).json();
    // Between the crash and the retry the document is consistently pending, never half-parsed.
    await eventually(async () => crashes.length > 0);
    const [between] = await t.platform.db.query<{ state: string; line_count: number | null }>(
      'select state, line_count from documents where id = $1',
      [document.id],
    );
    expect(between).toEqual({ state: 'pending', line_count: null });
    const done = await eventually(async () => {
      const [row] = await t.platform.db.query<{ state: string; line_count: number }>(
        'select state, line_count from documents where id = $1',
        [document.id],
      );
      return row?.state === 'ready' ? row : undefined;
    });
    expect(done.line_count).toBe(1);
    const [job] = await t.platform.db.query<{ state: string; retry_count: number }>(
      "select state::text as state, retry_count from pgboss.job where name = 'documents.parse' and data->>'document_id' = $1",
      [document.id],
    );
    expect(job).toEqual({ state: 'completed', retry_count: 1 });
    // The job's log lines carry the request id of the upload that enqueued it.
    expect(t.logs.some((line) => line.request_id === 'upload-crash-1' && line.msg === 'job completed')).toBe(true);
  });

  it('leaves no job behind when the enqueueing transaction rolls back, and always one when it commits', async () => {
    const count = () =>
      t.platform.db.query<{ n: number }>("select count(*) as n from pgboss.job where name = 'documents.parse'").then((rows) => rows[0]?.n);
    const before = await count();
    await expect(
      t.platform.db.transaction(async (tx) => {
        await t.platform.jobs.enqueue(tx, 'documents.parse', {
          document_id: '00000000-0000-4000-8000-000000000000',
          sha256: '0'.repeat(64),
        });
        throw new Error('request failed after enqueueing');
      }),
    ).rejects.toThrow('request failed');
    expect(await count()).toBe(before);
    await t.platform.db.transaction((tx) =>
      t.platform.jobs.enqueue(tx, 'documents.parse', { document_id: '00000000-0000-4000-8000-000000000001', sha256: '0'.repeat(64) }),
    );
    expect(await count()).toBe((before ?? 0) + 1);
  });

  it('lets an admin list, inspect, cancel and retry jobs; nobody else', async () => {
    expect((await t.app.inject({ url: '/api/v1/admin/jobs', headers: user })).statusCode).toBe(403);
    const list = await t.app.inject({ url: '/api/v1/admin/jobs?type=documents.parse&state=completed&limit=1', headers: admin });
    expect(list.statusCode).toBe(200);
    const page = list.json();
    expect(page.jobs).toHaveLength(1);
    expect(page.jobs[0]).toMatchObject({ type: 'documents.parse', state: 'completed' });
    const detail = await t.app.inject({ url: `/api/v1/admin/jobs/${page.jobs[0].id}`, headers: admin });
    expect(detail.json().job.data).toHaveProperty('document_id');
    expect((await t.app.inject({ method: 'POST', url: `/api/v1/admin/jobs/${page.jobs[0].id}/cancel`, headers: admin })).statusCode).toBe(
      409,
    );

    // A job far in the future can be cancelled, and then retried.
    const futureId = await t.platform.db.transaction(async (tx) => {
      const [row] = await tx.query<{ id: string }>(
        "insert into pgboss.job (name, data, start_after) values ('documents.parse', '{}'::jsonb, now() + interval '1 day') returning id",
      );
      return row?.id as string;
    });
    expect((await t.app.inject({ method: 'POST', url: `/api/v1/admin/jobs/${futureId}/cancel`, headers: admin })).statusCode).toBe(204);
    expect((await t.app.inject({ url: `/api/v1/admin/jobs/${futureId}`, headers: admin })).json().job.state).toBe('cancelled');
    expect((await t.app.inject({ method: 'POST', url: `/api/v1/admin/jobs/${futureId}/retry`, headers: admin })).statusCode).toBe(204);
    expect((await t.app.inject({ url: `/api/v1/admin/jobs/${futureId}`, headers: admin })).json().job.state).not.toBe('cancelled');
    expect((await t.app.inject({ url: '/api/v1/admin/jobs/00000000-0000-4000-8000-000000000009', headers: admin })).statusCode).toBe(404);
    // Cursors reach SQL: anything but what the API issued is a 400, never a database error.
    const forged = (key: unknown) => Buffer.from(JSON.stringify(key)).toString('base64url');
    for (const cursor of ['garbage', forged(['2026', '00000000-0000-4000-8000-000000000000']), forged(['x'])]) {
      const response = await t.app.inject({ url: `/api/v1/admin/jobs?cursor=${cursor}`, headers: admin });
      expect(response.statusCode).toBe(400);
      expect(response.json().details).toEqual([{ path: 'query.cursor', message: 'is not a cursor from this API' }]);
    }
    const paged = await t.app.inject({ url: '/api/v1/admin/jobs?limit=1', headers: admin });
    const next = await t.app.inject({ url: `/api/v1/admin/jobs?limit=1&cursor=${paged.json().next_cursor}`, headers: admin });
    expect(next.statusCode).toBe(200);
    expect(next.json().jobs[0].id).not.toBe(paged.json().jobs[0].id);
  });

  it('answers 400 for job list filters Postgres would refuse: a NUL type, impossible cursor instants, unbounded limits', async () => {
    const nul = await t.app.inject({ url: '/api/v1/admin/jobs?type=documents%00parse', headers: admin });
    expect(nul.statusCode).toBe(400);
    expect(nul.json()).toMatchObject({ error_code: 'VALIDATION_FAILED', details: [{ path: 'query.type' }] });
    const forged = (createdAt: string) =>
      Buffer.from(JSON.stringify([createdAt, '00000000-0000-4000-8000-000000000000'])).toString('base64url');
    for (const createdAt of ['2024-13-01 00:00:00+00', '0000-01-01 00:00:00+00', '2024-01-01 00:00:00+99', '2024-01-01 24:00:00+00']) {
      const response = await t.app.inject({ url: `/api/v1/admin/jobs?cursor=${forged(createdAt)}`, headers: admin });
      expect(response.statusCode, createdAt).toBe(400);
      expect(response.json().details).toEqual([{ path: 'query.cursor', message: 'is not a cursor from this API' }]);
    }
    for (const limit of ['Infinity', '1e309']) {
      const response = await t.app.inject({ url: `/api/v1/admin/jobs?limit=${limit}`, headers: admin });
      expect(response.statusCode, limit).toBe(400);
    }
  });

  it('counts attempts by type and state, with durations and dead letters, in /metrics', async () => {
    const body = (await t.app.inject({ url: '/metrics' })).body;
    const lines = body.split('\n');
    const has = (prefix: string, ...labels: string[]) =>
      lines.some((line) => line.startsWith(prefix) && labels.every((label) => line.includes(label)) && !line.endsWith(' 0'));
    expect(has('rampart_jobs_total{', 'state="active"')).toBe(true);
    expect(has('rampart_jobs_total{', 'state="completed"')).toBe(true);
    expect(has('rampart_jobs_total{', 'state="failed"')).toBe(true);
    expect(has('rampart_job_duration_seconds_count{', 'outcome="completed"')).toBe(true);
  });
});
