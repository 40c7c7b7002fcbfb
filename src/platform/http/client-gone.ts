// A request's client going away, for the work done for it: an AbortSignal that fires when the
// client leaves before its answer is written, so work still queued for it (a render waiting for
// a thread) can be dropped, not done for nobody, and the error that dropped work ends in.
import type { FastifyReply } from 'fastify';

/**
 * Work dropped because its client left. Nobody reads the answer, so it is no failure of
 * ours: the error handler logs it at info and ends the request with 499 (nginx's "client
 * closed request"), never reports it as a bug, and never maps it to a 5xx. The request never
 * reaches onResponse (its socket is gone), so the HTTP metrics do not count it; the work's
 * own counter does (rampart_render_dropped_total).
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
