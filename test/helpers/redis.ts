import { canConnect, freePorts, managed, which } from './servers.js';

/**
 * A real redis-server of the test's own, on a free loopback port, with no persistence: started,
 * SIGKILLed, restarted on the same port (empty, as a crashed cache comes back) and disposed.
 * Tests never touch a shared Redis, so killing one cannot disturb another suite.
 */

/** The redis-server binary (PATH, then Debian's /usr/bin), or undefined. */
export function redisServerBinary(): string | undefined {
  return which('redis-server');
}

/**
 * Why a Redis suite cannot run here, or false when it can. With CI=true a missing binary throws:
 * CI must run every suite (`.ci/services.sh` installs it).
 */
export function redisSkipReason(): string | false {
  if (redisServerBinary()) return false;
  const reason =
    'no redis-server binary on PATH or in /usr/bin: apt-get install -y redis-server (or run .ci/services.sh)';
  if (process.env.CI === 'true') throw new Error(`CI=true and ${reason}`);
  return reason;
}

/** A redis-server this test started. */
export interface RedisServer extends AsyncDisposable {
  /** `redis://127.0.0.1:<port>` */
  readonly url: string;
  readonly port: number;
  /** SIGKILLs the server; its port stays for {@link RedisServer.start}. */
  kill(): Promise<void>;
  /** Starts it again on the same port, empty. */
  start(): Promise<void>;
}

/** Starts redis-server on a free loopback port; `await using` stops it. */
export async function startRedisServer(): Promise<RedisServer> {
  const bin = redisServerBinary();
  if (!bin) throw new Error(redisSkipReason() || 'redis-server missing');
  const [port] = (await freePorts(1)) as [number];
  const args = [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--save',
    '',
    '--appendonly',
    'no',
    '--protected-mode',
    'no',
  ];
  const server = await managed(
    bin,
    () => args,
    `127.0.0.1:${port}`,
    () => canConnect('127.0.0.1', port),
    undefined,
  );
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    kill: () => server.kill(),
    start: () => server.start(),
    [Symbol.asyncDispose]: () => server[Symbol.asyncDispose](),
  };
}
