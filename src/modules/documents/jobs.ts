// The documents module's job types: parsing an uploaded version, importing an archive,
// and the nightly sweep of bytes and archives nothing references.
import type { JobDefinition } from '../../platform/jobs/queue.ts';
import { type DocumentsService, IMPORT_JOB, type ImportJobData, ORPHAN_SWEEP_JOB, PARSE_JOB } from './service.ts';

export function documentJobs(service: DocumentsService): JobDefinition<never>[] {
  const parse: JobDefinition<{ document_id: string; sha256: string }> = {
    type: PARSE_JOB,
    retryLimit: 3,
    retryDelaySeconds: 1,
    expireInSeconds: 120,
    handler: (data, job) => service.parse(data.document_id, data.sha256, job),
  };
  const importArchive: JobDefinition<ImportJobData> = {
    type: IMPORT_JOB,
    retryLimit: 2,
    expireInSeconds: 600,
    handler: (data, job) => service.importArchive(data, job),
  };
  const sweep: JobDefinition<Record<string, never>> = {
    type: ORPHAN_SWEEP_JOB,
    cron: '17 3 * * *',
    retryLimit: 1,
    handler: async (_data, job) => {
      await service.sweepOrphanBlobs(job.log);
    },
  };
  return [parse, importArchive, sweep];
}
