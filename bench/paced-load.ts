// An open-loop load generator at a truly fixed rate: request i leaves at start + i/rate,
// whether or not earlier ones were answered, over a keep-alive pool of `connections`.
//
// autocannon's rate option is not that: each connection sends its share of a second's
// requests back to back as fast as it is answered, then waits for the next second, so
// every second begins with a burst at full concurrency. Measured here: bare Fastify's
// GET /health/live at "200 requests/s" over 16 connections read p50 2 ms, p90 22 ms,
// p99 58 ms that way, and p99 7 ms over 1 connection; the latency was the bursts' queue,
// not the server's (bench/render.ts's cold and warm runs measure with this instead).
import http from 'node:http';
import { type RateRun, summarise } from './lib.ts';

export interface PacedRequest {
  method: 'GET' | 'POST';
  headers?: Record<string, string>;
  /** Made per request (a distinct document per request for a cold run). */
  body?: () => string;
}

export async function pacedRun(
  url: string,
  request: PacedRequest,
  options: { rate: number; seconds: number; connections: number; timeoutMs?: number },
): Promise<RateRun> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: options.connections });
  const total = Math.round(options.rate * options.seconds);
  const latenciesMs: number[] = [];
  let errors = 0;
  const pending: Promise<void>[] = [];
  const send = (): Promise<void> =>
    new Promise((resolve) => {
      const body = request.body?.();
      const started = performance.now();
      const outgoing = http.request(
        url,
        {
          method: request.method,
          agent,
          headers: { ...request.headers, ...(body === undefined ? {} : { 'content-length': Buffer.byteLength(body) }) },
          timeout: options.timeoutMs ?? 10_000,
        },
        (response) => {
          response.resume();
          response.on('end', () => {
            if ((response.statusCode ?? 0) >= 200 && (response.statusCode ?? 0) < 300) latenciesMs.push(performance.now() - started);
            else errors += 1;
            resolve();
          });
        },
      );
      outgoing.on('timeout', () => outgoing.destroy(new Error('timed out')));
      outgoing.on('error', () => {
        errors += 1;
        resolve();
      });
      outgoing.end(body);
    });
  const start = performance.now();
  const intervalMs = 1000 / options.rate;
  for (let sent = 0; sent < total; ) {
    // Everything due by now leaves now: a late timer (a busy machine) sends the backlog at
    // once instead of stretching the run, so the offered rate stays the stated one.
    const due = Math.min(total, Math.floor((performance.now() - start) / intervalMs) + 1);
    for (; sent < due; sent += 1) pending.push(send());
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, start + sent * intervalMs - performance.now())));
  }
  await Promise.all(pending);
  const elapsedSeconds = (performance.now() - start) / 1000;
  agent.destroy();
  return { ...summarise(latenciesMs), errors, rps: Math.round(latenciesMs.length / elapsedSeconds) };
}
