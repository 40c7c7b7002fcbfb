// Which module owns a topic, and who may subscribe to it, with answers shared for a short
// while: a thousand sockets of one account re-subscribing after a restart ask the database
// once, not a thousand times (bench/realtime.ts ran the pool dry without it). A decision is
// keyed by account, role and topic, so a role change asks again; ownership behind a topic
// does not change while it exists. Failures are not kept.
import type { TopicDefinition } from '../module.ts';

const MAX_DECISIONS = 10_000;

/** The definition that owns a topic: `polls:` owns every `polls:<id>`; a prefix without a colon (`jobs`) is one topic. */
export function ownerOf(definitions: readonly TopicDefinition[], topic: string): TopicDefinition | undefined {
  return definitions.find(({ prefix }) =>
    prefix.endsWith(':') ? topic.startsWith(prefix) && topic.length > prefix.length : topic === prefix,
  );
}

export class SubscriptionDecisions {
  readonly #ttlMs: number;
  readonly #decisions = new Map<string, { allowed: Promise<boolean>; expiresAt: number }>();

  constructor(ttlMs: number) {
    this.#ttlMs = ttlMs;
  }

  get size(): number {
    return this.#decisions.size;
  }

  /** The definition's answer for this subscriber and topic; concurrent asks share one check. */
  decide(definition: TopicDefinition, subscriber: { userId: string; role: string }, topic: string): Promise<boolean> {
    const key = `${subscriber.userId}\n${subscriber.role}\n${topic}`;
    const now = Date.now();
    const known = this.#decisions.get(key);
    if (known && known.expiresAt > now) return known.allowed;
    if (known) this.#decisions.delete(key);
    const allowed = definition.maySubscribe(subscriber, topic);
    this.#decisions.set(key, { allowed, expiresAt: now + this.#ttlMs });
    // A check that failed is forgotten at once: the next ask tries again.
    allowed.catch(() => {
      if (this.#decisions.get(key)?.allowed === allowed) this.#decisions.delete(key);
    });
    // Oldest first out (a Map iterates in insertion order): memory stays bounded.
    if (this.#decisions.size > MAX_DECISIONS) {
      const oldest = this.#decisions.keys().next().value;
      if (oldest !== undefined) this.#decisions.delete(oldest);
    }
    return allowed;
  }

  clear(): void {
    this.#decisions.clear();
  }
}
