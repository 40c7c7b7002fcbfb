// `npm run chaos [-- <scenario>...] [-- --short]`: the failure scenarios of DESIGN.md's
// "Shapes of failure" under load on the scale shape, results in bench/results/chaos.{json,md}.
// --short (or CHAOS_SHORT=1) is the CI form: a few seconds of load around each fault.
import { startCluster } from './cluster.ts';
import { verdict, writeChaosResults } from './results.ts';
import { type ScenarioResult, scenarios, type Timing } from './scenarios.ts';
import { seed } from './workload.ts';

const args = process.argv.slice(2);
const short = args.includes('--short') || process.env.CHAOS_SHORT === '1';
const unknown = args.filter((arg) => !arg.startsWith('--') && !(arg in scenarios));
if (unknown.length > 0) {
  console.error(`chaos: no scenario named ${unknown.join(', ')}; scenarios: ${Object.keys(scenarios).join(', ')}`);
  process.exit(2);
}
const chosen = args.filter((arg) => arg in scenarios);
const names = chosen.length > 0 ? chosen : Object.keys(scenarios);
if (!process.env.TEST_DATABASE_URL || !process.env.TEST_REDIS_URL) {
  console.error('chaos: set TEST_DATABASE_URL and TEST_REDIS_URL (the scale shape runs on them; a fresh database and key prefix per run)');
  process.exit(2);
}
// The fault lasts 10 s in the full form, as the issue asks; the short form keeps each scenario to seconds.
const timing: Timing = short
  ? { before: 2, fault: 4, after: 4, rate: Number(process.env.CHAOS_RATE ?? 60), connections: 20 }
  : { before: 5, fault: 10, after: 10, rate: Number(process.env.CHAOS_RATE ?? 100), connections: 20 };

const started = performance.now();
console.log(`chaos: starting 2 serve + 2 worker processes (scale shape, ${short ? 'short' : 'full'} form)...`);
const cluster = await startCluster({ redisUrl: process.env.TEST_REDIS_URL });
const results: ScenarioResult[] = [];
try {
  const seeded = await seed(cluster.pool, cluster.apis[0]?.url as string, 400);
  console.log(`chaos: cluster up in ${Math.round((performance.now() - started) / 1000)} s`);
  for (const name of names) {
    const run = scenarios[name];
    if (!run) continue;
    console.log(`chaos: ${name}...`);
    const scenarioStarted = performance.now();
    const result = await run({ cluster, seeded, timing });
    results.push(result);
    console.log(`chaos: ${name}: ${result.pass ? 'PASS' : 'FAIL'} in ${Math.round((performance.now() - scenarioStarted) / 1000)} s`);
    for (const check of result.checks) console.log(`  ${verdict(check)} ${check.name}${check.detail ? `: ${check.detail}` : ''}`);
  }
} finally {
  await cluster.close();
}
const file = writeChaosResults(results, Object.keys(scenarios), short ? 'short' : 'full');
console.log(`chaos: results in ${file} (${Math.round((performance.now() - started) / 1000)} s in all)`);
if (results.some((result) => !result.pass)) process.exit(1);
