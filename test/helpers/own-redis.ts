// A redis-server of a test's own, on a free port, alone or behind a relay the test can cut:
// for tests that pause, fill or cut Redis, which on the shared test Redis would stall every
// other test file running beside them.
import { spawn } from 'node:child_process';
import { Redis } from 'ioredis';
import { freePort } from './processes.ts';
import { startTcpProxy, type TcpProxy } from './tcp-proxy.ts';
import { eventually } from './wait.ts';

export interface OwnRedis {
  port: number;
  url: string;
  /** A plain client straight to it (no relay), for the test's own commands. */
  direct: Redis;
  stop(): void;
}

export async function startOwnRedis(extraArgs: string[] = []): Promise<OwnRedis> {
  const port = await freePort();
  const server = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', ...extraArgs], {
    stdio: 'ignore',
  });
  // Reconnects every 50 ms until the server listens; refused connections are expected meanwhile.
  const direct = new Redis({ host: '127.0.0.1', port, maxRetriesPerRequest: 1, retryStrategy: () => 50 });
  direct.on('error', () => {});
  await eventually(
    async () =>
      direct.ping().then(
        () => true,
        () => false,
      ),
    30_000,
  );
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    direct,
    stop() {
      direct.disconnect();
      server.kill('SIGKILL');
    },
  };
}

export interface RelayedOwnRedis extends OwnRedis {
  relay: TcpProxy;
  /** Through the relay: what the client under test connects to. */
  relayedUrl: string;
}

export async function startRelayedOwnRedis(): Promise<RelayedOwnRedis> {
  const own = await startOwnRedis();
  const relay = await startTcpProxy('127.0.0.1', own.port);
  return {
    ...own,
    relay,
    relayedUrl: `redis://127.0.0.1:${relay.port}`,
    stop() {
      void relay.close();
      own.stop();
    },
  };
}
