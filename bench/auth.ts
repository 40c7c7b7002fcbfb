// Login benchmarks: enumeration timing (unknown email vs wrong password), and
// login latency at 8 concurrent clients with the event-loop delay it causes.
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { loadConfig } from '../src/config.ts';
import { PasswordHasher } from '../src/modules/auth/passwords.ts';
import { type BenchSection, startRampart, summarise } from './lib.ts';

const PASSWORD = 'bench-password-phrase-1';
// Request limits are out of the way here: these runs measure hashing and sessions, not 429s.
const LIMITS_OFF = {
  LOGIN_FAILURES_PER_ACCOUNT_IP: '1000',
  LOGIN_FAILURES_PER_IP_PER_HOUR: '100000',
  API_RATE_LIMIT_PER_MINUTE: '1000000',
  AUTH_RATE_LIMIT_PER_MINUTE: '1000000',
  WRITE_RATE_LIMIT_PER_MINUTE: '1000000',
};

/** Milliseconds one failed login took; anything but the expected 401 invalidates the run. */
async function post(url: string, body: object, expectStatus = 401): Promise<number> {
  const started = performance.now();
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  await response.arrayBuffer();
  const elapsed = performance.now() - started;
  if (response.status !== expectStatus) throw new Error(`bench: ${url} answered ${response.status}, expected ${expectStatus}`);
  return elapsed;
}

export async function benchAuth(attempts = 200): Promise<BenchSection[]> {
  const server = await startRampart(LIMITS_OFF);
  try {
    const login = `${server.url}/api/v1/auth/login`;
    await post(`${server.url}/api/v1/auth/register`, { email: 'known@bench.test', password: PASSWORD, display_name: 'B' }, 201);
    // Warm up both paths (JIT, the dummy hash, connection reuse).
    for (let i = 0; i < 10; i += 1) {
      await post(login, { email: 'nobody@bench.test', password: 'wrong-password-xx' });
      await post(login, { email: 'known@bench.test', password: 'wrong-password-xx' });
    }
    const unknown: number[] = [];
    const wrong: number[] = [];
    // Interleaved, so drift in machine load hits both series alike. Distinct emails keep
    // the account+IP counter below its limit without switching limits off for the known one.
    for (let i = 0; i < attempts; i += 1) {
      unknown.push(await post(login, { email: `nobody-${i}@bench.test`, password: 'wrong-password-xx' }));
      wrong.push(await post(login, { email: 'known@bench.test', password: 'wrong-password-xx' }));
    }
    const u = summarise(unknown);
    const w = summarise(wrong);
    const difference = Math.abs(u.p50 - w.p50) / Math.max(u.p50, w.p50);
    const timing: BenchSection = {
      name: 'Login timing: unknown email vs wrong password',
      table: {
        columns: ['path', 'attempts', 'p50 ms', 'p95 ms'],
        rows: [
          ['unknown email', u.n, u.p50, u.p95],
          ['known email, wrong password', w.n, w.p50, w.p95],
        ],
      },
      notes: [`median difference ${(difference * 100).toFixed(1)} % (target < 10 %): ${difference < 0.1 ? 'PASS' : 'FAIL'}`],
      data: { unknown: u, wrong_password: w, median_difference: difference, pass: difference < 0.1 },
    };

    const hasher = new PasswordHasher(loadConfig({}).auth);
    const stored = await hasher.hash(PASSWORD);
    const bare: number[] = [];
    for (let i = 0; i < 50; i += 1) {
      const started = performance.now();
      await hasher.verify(stored, PASSWORD);
      bare.push(performance.now() - started);
    }
    const baseline = summarise(bare);

    const loop = monitorEventLoopDelay({ resolution: 10 });
    const latencies: number[] = [];
    let failures = 0;
    const deadline = performance.now() + 10_000;
    loop.enable();
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (performance.now() < deadline) {
          const started = performance.now();
          const response = await fetch(login, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ email: 'known@bench.test', password: PASSWORD }),
          });
          await response.arrayBuffer();
          if (response.status !== 200) failures += 1;
          latencies.push(performance.now() - started);
        }
      }),
    );
    loop.disable();
    const loopP99 = Math.round(loop.percentile(99) / 1e4) / 100;
    const logins = summarise(latencies);
    const load: BenchSection = {
      name: 'Login under load (8 concurrent clients, 10 s)',
      table: {
        columns: ['measure', 'value'],
        rows: [
          ['logins/s', Math.round(latencies.length / 10)],
          ['login p50 ms', logins.p50],
          ['login p95 ms', logins.p95],
          ['login p99 ms', logins.p99],
          ['event-loop delay p99 ms', loopP99],
          ['baseline: one bare Argon2id verify p50 ms', baseline.p50],
          ['failed logins', failures],
        ],
      },
      notes: [
        `login p50 is ${(logins.p50 / baseline.p50).toFixed(1)}x a bare Argon2id verify: 8 logins queue for libuv's 4 threads on 2 cores`,
        'event-loop delay is measured in the server process, which here also runs the 8 clients and PGlite (WASM on the main thread); Argon2id itself runs off the loop',
      ],
      data: { logins, failures, event_loop_delay_p99_ms: loopP99, bare_verify: baseline },
    };
    return [timing, load];
  } finally {
    await server.close();
  }
}
