// Who-may-subscribe decisions: concurrent asks share one check, an answer is reused per
// account, role and topic until it expires, and a failed check is asked again.
import { describe, expect, it } from 'vitest';
import type { TopicDefinition } from '../../../src/platform/module.ts';
import { SubscriptionDecisions } from '../../../src/platform/realtime/decisions.ts';

function countingDefinition(answer: (role: string) => Promise<boolean>): TopicDefinition & { calls: number } {
  const definition = {
    prefix: 'jobs',
    calls: 0,
    maySubscribe: (subscriber: { userId: string; role: string }) => {
      definition.calls += 1;
      return answer(subscriber.role);
    },
  };
  return definition;
}

describe('SubscriptionDecisions', () => {
  it('asks once for a burst of the same account, role and topic, and again for another role', async () => {
    const definition = countingDefinition(async (role) => role === 'admin');
    const decisions = new SubscriptionDecisions(60_000);
    const admin = { userId: 'u1', role: 'admin' };
    const answers = await Promise.all(Array.from({ length: 1_000 }, () => decisions.decide(definition, admin, 'jobs')));
    expect(answers.every(Boolean)).toBe(true);
    expect(definition.calls).toBe(1);
    expect(await decisions.decide(definition, { userId: 'u1', role: 'user' }, 'jobs')).toBe(false);
    expect(definition.calls).toBe(2);
  });

  it('asks again once an answer expired', async () => {
    const definition = countingDefinition(async () => true);
    const decisions = new SubscriptionDecisions(1);
    await decisions.decide(definition, { userId: 'u1', role: 'user' }, 'jobs');
    await new Promise((resolve) => setTimeout(resolve, 5));
    await decisions.decide(definition, { userId: 'u1', role: 'user' }, 'jobs');
    expect(definition.calls).toBe(2);
  });

  it('forgets a check that failed, so the next ask tries again', async () => {
    let fail = true;
    const definition = countingDefinition(async () => {
      if (fail) throw new Error('database down');
      return true;
    });
    const decisions = new SubscriptionDecisions(60_000);
    const subscriber = { userId: 'u1', role: 'user' };
    await expect(decisions.decide(definition, subscriber, 'jobs')).rejects.toThrow('database down');
    fail = false;
    expect(await decisions.decide(definition, subscriber, 'jobs')).toBe(true);
    expect(definition.calls).toBe(2);
    expect(decisions.size).toBe(1);
  });
});
