// Shutting down without resets: for a drain window after SIGTERM the server keeps serving,
// reports not ready (so its load balancer moves clients away) and closes the connection of
// every answer; then it closes. Without the window, Node's close destroys idle kept-alive
// connections at once and a client's next request on one is reset, never read (chaos
// `sigterm` measured 1-12 such resets a run). With no window (SIGINT, or a zero
// SHUTDOWN_DRAIN_MS) only the in-flight answers are told, so a keep-alive client does not
// hold the server open until its idle timeout (72 s), past the grace period.
import { setTimeout as sleep } from 'node:timers/promises';
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { ReadinessRegistry } from '../health.ts';

/** Read on every request by the in-flight tracker (a property read, not a hook of its own). */
export interface ConnectionPolicy {
  closeEveryConnection: boolean;
}

declare module 'fastify' {
  interface FastifyInstance {
    /** Serves `ms` more with every answer closing its connection and readiness 503, then resolves. */
    drainForShutdown(ms: number): Promise<void>;
  }
}

export function registerShutdownDrain(
  app: FastifyInstance,
  inFlight: Iterable<FastifyReply>,
  policy: ConnectionPolicy,
  readiness: Pick<ReadinessRegistry, 'shutDown'>,
): void {
  const closeConnections = () => {
    policy.closeEveryConnection = true;
    // Requests from now on get the header from the in-flight tracker (and, once closing,
    // from Fastify itself); these are the ones already being answered.
    for (const reply of inFlight) {
      if (!reply.raw.headersSent) reply.header('connection', 'close');
    }
  };
  app.decorate('drainForShutdown', async (ms: number) => {
    readiness.shutDown();
    closeConnections();
    app.log.info({ drain_ms: ms }, 'draining: not ready, closing every connection after its answer');
    await sleep(ms);
  });
  app.addHook('preClose', (done) => {
    closeConnections();
    done();
  });
}

/** The role's close sequence: the drain window on SIGTERM (the orchestrator's stop), then Fastify's close. */
export async function drainThenClose(app: FastifyInstance, signal: NodeJS.Signals, drainMs: number): Promise<void> {
  // SIGINT is a person at a terminal: nobody balances load onto a process they stop by hand.
  if (signal === 'SIGTERM' && drainMs > 0) await app.drainForShutdown(drainMs);
  await app.close();
}
