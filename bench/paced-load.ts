// An open-loop load generator at a truly fixed rate: request i leaves at start + i/rate,
// whether or not earlier ones were answered, over a keep-alive pool of `connections`.
//
// autocannon's rate option is not that: each connection sends its share of a second's
// requests back to back as fast as it is answered, then waits for the next second, so
// every second begins with a burst at full concurrency. Measured here: bare Fastify's
// GET /health/live at "200 requests/s" over 16 connections read p50 2 ms, p90 22 ms,
// p99 58 ms that way, and p99 7 ms over 1 connection; the latency was the bursts' queue,
// not the server's (bench/render.ts's cold and warm runs measure with this instead).
//
// It writes each request as one string on a raw keep-alive socket (bench/keep-alive-load.ts):
// node:http's client cost 0.73 ms of CPU per request of the render bench's cold run (a 10 KB
// body out, 27 KB back), on the same 2 cores as the server it measures.
import { KeepAliveConnection, requestHead, requestText } from './keep-alive-load.ts';
import { type RateRun, summarise } from './lib.ts';

export interface PacedRequest {
  method: 'GET' | 'POST';
  headers?: Record<string, string>;
  /** Made per request (a distinct document per request for a cold run). */
  body?: () => string;
}

/** A request due at `started`, waiting for a free connection (its wait counts in its latency). */
interface Due {
  started: number;
  text: string;
}

export async function pacedRun(
  url: string,
  request: PacedRequest,
  options: { rate: number; seconds: number; connections: number; timeoutMs?: number },
): Promise<RateRun> {
  const { hostname, port, host, pathname, search } = new URL(url);
  const head = requestHead(request.method, `${pathname}${search}`, host, request.headers ?? {});
  const timeoutMs = options.timeoutMs ?? 10_000;
  const total = Math.round(options.rate * options.seconds);
  const latenciesMs: number[] = [];
  let errors = 0;
  let finished = 0;
  let allAnswered: () => void = () => {};
  const answered = new Promise<void>((resolve) => {
    allAnswered = resolve;
  });
  const free = Array.from({ length: options.connections }, () => new KeepAliveConnection(hostname, Number(port)));
  const waiting: (Due | undefined)[] = [];
  let next = 0; // index of the first waiting request (shifting a long array costs O(n) each time)

  const settle = (due: Due, status: number) => {
    if (status >= 200 && status < 300) latenciesMs.push(performance.now() - due.started);
    else errors += 1;
    finished += 1;
    if (finished === total) allAnswered();
  };
  const dispatch = () => {
    while (free.length > 0 && next < waiting.length) {
      const connection = free.pop() as KeepAliveConnection;
      const due = waiting[next] as Due;
      waiting[next] = undefined; // its text (a 10 KB document) is garbage once sent
      next += 1;
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<number>((resolve) => {
        timer = setTimeout(() => {
          connection.close(); // a late answer on this socket is no one's
          resolve(0);
        }, timeoutMs);
      });
      void Promise.race([connection.send(due.text), timedOut]).then((status) => {
        clearTimeout(timer);
        settle(due, status);
        free.push(connection);
        dispatch();
      });
    }
  };

  const start = performance.now();
  const intervalMs = 1000 / options.rate;
  for (let sent = 0; sent < total; ) {
    // Everything due by now leaves now: a late timer (a busy machine) sends the backlog at
    // once instead of stretching the run, so the offered rate stays the stated one.
    const dueNow = Math.min(total, Math.floor((performance.now() - start) / intervalMs) + 1);
    for (; sent < dueNow; sent += 1) waiting.push({ started: performance.now(), text: requestText(head, request.body?.()) });
    dispatch();
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, start + sent * intervalMs - performance.now())));
  }
  if (total > 0) await answered;
  const elapsedSeconds = (performance.now() - start) / 1000;
  for (const connection of free) connection.close();
  return { ...summarise(latenciesMs), errors, rps: Math.round(latenciesMs.length / elapsedSeconds) };
}
