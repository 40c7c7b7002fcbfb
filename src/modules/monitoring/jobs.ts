// The monitoring module's job type: delivering one signed webhook message to one receiver,
// durable (enqueued with the evaluation that caused it) and retried with backoff on failure.
import { AppError } from '../../platform/errors.ts';
import type { JobDefinition } from '../../platform/jobs/queue.ts';
import { SIGNATURE_HEADER, sign, WEBHOOK_JOB } from './notifications.ts';

export interface WebhookJobData {
  url: string;
  /** The message exactly as signed and sent. */
  body: string;
}

const TIMEOUT_MS = 10_000;

export function monitoringJobs(secret: string | undefined): JobDefinition<never>[] {
  const deliver: JobDefinition<WebhookJobData> = {
    type: WEBHOOK_JOB,
    retryLimit: 8,
    retryDelaySeconds: 1,
    expireInSeconds: 60,
    async handler(data, job) {
      if (secret === undefined) throw new AppError('UNAVAILABLE', 'ALERT_WEBHOOK_SECRET is not set; webhooks are not sent unsigned');
      const response = await fetch(data.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', [SIGNATURE_HEADER]: sign(data.body, secret), 'user-agent': 'rampart-alerts' },
        body: data.body,
        signal: AbortSignal.any([job.signal, AbortSignal.timeout(TIMEOUT_MS)]),
      });
      await response.body?.cancel();
      if (!response.ok) throw new AppError('UNAVAILABLE', `The webhook receiver answered ${response.status}; retried with backoff`);
      job.log.info({ event: 'alerts.webhook_sent', status: response.status }, 'alert webhook delivered');
      return { status: response.status };
    },
  };
  return [deliver];
}
