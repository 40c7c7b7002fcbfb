// An AbortSignal that fires when a request's client goes away before its answer is written,
// so work still queued for it (a render waiting for a thread) can be dropped, not done for nobody.
import type { FastifyReply } from 'fastify';

export function clientGone(reply: FastifyReply): AbortSignal {
  const controller = new AbortController();
  const response = reply.raw;
  if (response.destroyed && !response.writableFinished) {
    // Gone already (while the handler awaited something else): 'close' will not come again.
    controller.abort();
  } else {
    // 'close' comes after every response; only one not finished by then lost its client.
    response.once('close', () => {
      if (!response.writableFinished) controller.abort();
    });
  }
  return controller.signal;
}
