// Leadership with real processes (scale shape): two `rampart worker`s, one evaluates; kill -9
// it and the other takes over within two evaluation intervals, and the firing alert the first
// notified is not notified again (a local webhook receiver counts the messages).

import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningProcess, runCli, startCli, waitFor } from '../../helpers/processes.ts';
import { createTestDatabase, scaleUrls, type TestDatabase } from '../../helpers/shapes.ts';

const INTERVAL_MS = 3000;
const LEAD = 'alert evaluator took the lead';

describe.runIf(scaleUrls)('evaluator failover between worker processes (scale shape)', () => {
  let database: TestDatabase;
  let receiver: Server;
  const messages: { status: string }[] = [];
  const workers: RunningProcess[] = [];
  let env: Record<string, string>;

  beforeAll(async () => {
    receiver = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        messages.push(JSON.parse(Buffer.concat(chunks).toString('utf8')));
        response.writeHead(200).end();
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    const rules = join(mkdtempSync(join(tmpdir(), 'rampart-failover-')), 'always.yml');
    writeFileSync(
      rules,
      'groups:\n  - name: failover\n    rules:\n      - alert: DatabaseAnswers\n        expr: min by (component) (rampart_readiness_component_up{component="database"}) > 0\n',
    );
    database = await createTestDatabase();
    env = {
      DATABASE_URL: database.url,
      REDIS_URL: scaleUrls?.redis ?? '',
      REDIS_KEY_PREFIX: `t${Math.random().toString(16).slice(2, 10)}:`,
      LOG_LEVEL: 'info',
      JOB_POLL_INTERVAL_SECONDS: '1',
      JOB_NOTIFY_POLL_INTERVAL_SECONDS: '1',
      ALERT_EVAL_INTERVAL: `${INTERVAL_MS}ms`,
      ALERT_RULES_FILE: rules,
      ALERT_WEBHOOK_URLS: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`,
      ALERT_WEBHOOK_SECRET: 'failover-secret-0123456789',
    };
    expect((await runCli(['migrate'], env)).code).toBe(0);
  }, 120_000);

  afterAll(async () => {
    for (const worker of workers) {
      worker.child.kill('SIGKILL');
      await worker.exited;
    }
    await new Promise((resolve) => receiver.close(resolve));
    await database?.drop();
  });

  it('replaces a killed leader within two intervals, without notifying the firing alert twice', async () => {
    workers.push(startCli(['worker'], env), startCli(['worker'], env));
    const leader = await waitFor(async () => workers.find((worker) => worker.output().includes(LEAD)), 90_000);
    const follower = workers.find((worker) => worker !== leader) as RunningProcess;
    await waitFor(async () => (messages.some((message) => message.status === 'firing') ? true : undefined), 90_000);
    expect(follower.output()).not.toContain(LEAD);
    leader.child.kill('SIGKILL');
    const killed = Date.now();
    await waitFor(async () => (follower.output().includes(LEAD) ? true : undefined), 60_000);
    expect(Date.now() - killed).toBeLessThanOrEqual(2 * INTERVAL_MS);
    // Two more intervals of evaluation by the new leader: still the one firing message.
    await new Promise((resolve) => setTimeout(resolve, 2 * INTERVAL_MS + 2000));
    expect(messages.filter((message) => message.status === 'firing')).toHaveLength(1);
  }, 240_000);
});
