// The worker's error boundary, in a real process: handlers that fail where no try/catch
// sees it (a throw from a stream callback, an 'error' event with no listener) fail their
// job, and the process keeps running jobs and exits 0 when stopped. (Under vitest an
// uncaught error is the runner's to report, so this runs in a child process.)
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runNode } from '../../helpers/processes.ts';

const FIXTURE = fileURLToPath(new URL('../../fixtures/throwing-jobs-worker.ts', import.meta.url));

describe('job error boundary', () => {
  it('fails a job whose handler throws from a callback, and the process lives on', async () => {
    const { code, output } = await runNode([FIXTURE], {});
    expect(code, output).toBe(0);
    const jobs = JSON.parse(output.trim().split('\n').at(-1) ?? '[]') as {
      type: string;
      state: string;
      output: { message: string };
      stopped: boolean;
    }[];
    expect(jobs.map((job) => [job.type, job.state])).toEqual([
      ['test.throws-from-stream-callback', 'failed'],
      ['test.unlistened-error-event', 'failed'],
      ['test.floating-rejection', 'failed'],
      ['test.keeps-running-after-failure', 'failed'],
    ]);
    // A handler still at work when its job failed is told to stop (job.signal), so the
    // failed attempt does not run on beside its retry.
    expect(jobs.find((job) => job.type === 'test.keeps-running-after-failure')?.stopped).toBe(true);
    // What the job shows is written for people; the raw error (and its path) stays in the log.
    for (const job of jobs) {
      expect(job.output.message).toMatch(/^The job failed; its log lines carry request id [0-9a-f-]{36}$/);
      expect(JSON.stringify(job)).not.toContain('/secret/server/path');
    }
  });
});
