// Preloaded into a benchmarked server (`node --import`): SIGUSR2 resets an event-loop delay
// histogram, SIGUSR1 prints its percentiles (ms) as one `LOOP_DELAY {...}` line on stdout.
import { monitorEventLoopDelay } from 'node:perf_hooks';

const histogram = monitorEventLoopDelay({ resolution: 10 });
histogram.enable();
process.on('SIGUSR2', () => histogram.reset());
process.on('SIGUSR1', () => {
  const ms = (ns: number) => Math.round(ns / 1e4) / 100;
  const report = { p50: ms(histogram.percentile(50)), p99: ms(histogram.percentile(99)), max: ms(histogram.max) };
  process.stdout.write(`LOOP_DELAY ${JSON.stringify(report)}\n`);
});
