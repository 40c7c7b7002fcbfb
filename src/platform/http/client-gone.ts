// An AbortSignal that fires when a request's client goes away before its answer is written,
// so work still queued for it (a render waiting for a thread) can be dropped, not done for nobody.
import type { FastifyReply } from 'fastify';

/**
 * Work dropped because its client left. Nobody reads the answer, so it is no failure of
 * ours: the error handler logs it at info and counts it as 499 (nginx's "client closed
 * request"), never as a 5xx that the 5xx-ratio alert would count.
 */
export class ClientGoneError extends Error {
  override readonly name = 'ClientGoneError';
}

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
