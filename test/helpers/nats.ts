import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { canConnect, freePorts, managed, which } from './servers.js';
import { waitFor } from './wait.js';

/**
 * A real nats-server of the test's own, on loopback, with JetStream and a store in a temp dir:
 * started, SIGKILLed, restarted on the same port (with its store, so streams and durable
 * consumers survive as they would in production) and disposed. Tests never touch the shared
 * server on 4222, so restarting one cannot disturb another suite.
 */

/** The nats-server binary (PATH, then Debian's /usr/sbin), or undefined. */
export function natsServerBinary(): string | undefined {
  return which('nats-server');
}

/**
 * Why a NATS suite cannot run here, or false when it can. With CI=true a missing binary throws:
 * CI must run every suite (`.ci/services.sh` installs it).
 */
export function natsSkipReason(): string | false {
  if (natsServerBinary()) return false;
  const reason =
    'no nats-server binary on PATH or in /usr/sbin: apt-get install -y nats-server (or run .ci/services.sh)';
  if (process.env.CI === 'true') throw new Error(`CI=true and ${reason}`);
  return reason;
}

/** A nats-server this test started. */
export interface NatsServer extends AsyncDisposable {
  /** `nats://127.0.0.1:<port>` */
  readonly url: string;
  readonly port: number;
  /** The server process's pid while it runs. */
  readonly pid: number | undefined;
  /** SIGKILLs the server; its port and store stay for {@link NatsServer.start}. */
  kill(): Promise<void>;
  /** Starts it again on the same port with the same store. */
  start(): Promise<void>;
}

/**
 * Starts nats-server with JetStream on a free loopback port; `await using` stops it and removes
 * its store. `args` are extra command-line flags (e.g. `--user`/`--pass`), `config` the text of
 * a configuration file (e.g. an `authorization` block) written next to the store.
 */
export async function startNatsServer(
  opts: { args?: string[]; config?: string } = {},
): Promise<NatsServer> {
  const bin = natsServerBinary();
  if (!bin) throw new Error(natsSkipReason() || 'nats-server missing');
  const store = await mkdtemp(path.join(os.tmpdir(), 'tsmicro-nats-'));
  const [port] = (await freePorts(1)) as [number];
  const extra = [...(opts.args ?? [])];
  if (opts.config !== undefined) {
    const file = path.join(store, 'nats.conf');
    await writeFile(file, opts.config);
    extra.push('-c', file);
  }
  const args = ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', store, ...extra];
  // The store is kept across kill/start (streams and durable consumers survive, as in
  // production) and removed on dispose.
  const server = await managed(
    bin,
    () => args,
    `127.0.0.1:${port}`,
    () => canConnect('127.0.0.1', port),
    store,
  );
  return {
    url: `nats://127.0.0.1:${port}`,
    port,
    get pid() {
      return server.pid;
    },
    kill: () => server.kill(),
    start: () => server.start(),
    [Symbol.asyncDispose]: () => server[Symbol.asyncDispose](),
  };
}

/**
 * Resolves once `done()` holds, checked every 50 ms; throws after `timeoutMs` with `what()` in the
 * message.
 */
export function waitUntil(
  done: () => boolean,
  timeoutMs: number,
  what: () => string,
): Promise<void> {
  return waitFor(done, timeoutMs, what, 50);
}
