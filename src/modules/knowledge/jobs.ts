// The knowledge module's job types: embedding an entry (retried with backoff while the
// provider is down) and the sweep that re-enqueues what outages and model changes left.
import type { JobDefinition } from '../../platform/jobs/queue.ts';
import { EMBED_JOB, EMBED_RETRY_LIMIT, type KnowledgeService, SWEEP_JOB } from './service.ts';

export function knowledgeJobs(service: KnowledgeService): JobDefinition<never>[] {
  const embed: JobDefinition<{ entry_id: string }> = {
    type: EMBED_JOB,
    // 5 s doubling to pg-boss's 300 s cap: about 20 minutes of outage before the sweep takes over.
    retryLimit: EMBED_RETRY_LIMIT,
    retryDelaySeconds: 5,
    expireInSeconds: 600,
    handler: (data, job) => service.embedEntry(data.entry_id, job),
  };
  const sweep: JobDefinition<Record<string, never>> = {
    type: SWEEP_JOB,
    cron: '*/10 * * * *',
    retryLimit: 1,
    handler: (_data, job) => service.sweep(job),
  };
  return [embed, sweep];
}
