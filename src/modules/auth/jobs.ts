// The accounts module's job types: hourly housekeeping of sessions and email skeletons.
import type { JobDefinition } from '../../platform/jobs/queue.ts';
import type { AuthService } from './service.ts';

export function authJobs(service: AuthService): JobDefinition<Record<string, never>>[] {
  return [
    {
      // Expired sessions are refused anyway; this keeps the table small.
      type: 'auth.delete-expired-sessions',
      cron: '7 * * * *',
      retryLimit: 1,
      handler: async (_data, job) => {
        job.log.info({ deleted: await service.deleteExpiredSessions() }, 'expired sessions deleted');
      },
    },
    {
      // Rows an older process inserted during a rolling deploy (email-backfill.ts).
      type: 'auth.backfill-email-skeletons',
      cron: '37 * * * *',
      retryLimit: 1,
      handler: (_data, job) => service.accounts.backfill(job.log),
    },
  ];
}
