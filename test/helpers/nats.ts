import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { accessSync, constants } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

/**
 * A real nats-server of the test's own, on loopback, with JetStream and a store in a temp dir:
 * started, SIGKILLed, restarted on the same port (with its store, so streams and durable
 * consumers survive as they would in production) and disposed. Tests never touch the shared
 * server on 4222, so restarting one cannot disturb another suite.
 */

const READY_MS = 15_000;
const live = new Set<ChildProcess>();
// A test process that crashes must not leave servers behind.
process.on('exit', () => { for (const c of live) c.kill('SIGKILL'); });

/** The nats-server binary (PATH, then Debian's /usr/sbin), or undefined. */
export function natsServerBinary(): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(path.delimiter), '/usr/sbin', '/usr/local/sbin'];
  for (const dir of dirs) {
    if (!dir) continue;
    const file = path.join(dir, 'nats-server');
    try { accessSync(file, constants.X_OK); return file; } catch { /* next */ }
  }
  return undefined;
}

/**
 * Why a NATS suite cannot run here, or false when it can. With CI=true a missing binary throws:
 * CI must run every suite (`.ci/services.sh` installs it).
 */
export function natsSkipReason(): string | false {
  if (natsServerBinary()) return false;
  const reason = 'no nats-server binary on PATH or in /usr/sbin: apt-get install -y nats-server (or run .ci/services.sh)';
  if (process.env.CI === 'true') throw new Error(`CI=true and ${reason}`);
  return reason;
}

/** A nats-server this test started. */
export interface NatsServer extends AsyncDisposable {
  /** `nats://127.0.0.1:<port>` */
  readonly url: string;
  readonly port: number;
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
export async function startNatsServer(opts: { args?: string[]; config?: string } = {}): Promise<NatsServer> {
  const bin = natsServerBinary();
  if (!bin) throw new Error(natsSkipReason() || 'nats-server missing');
  const store = await mkdtemp(path.join(os.tmpdir(), 'tsmicro-nats-'));
  const port = await freePort();
  const extra = [...(opts.args ?? [])];
  if (opts.config !== undefined) {
    const file = path.join(store, 'nats.conf');
    await writeFile(file, opts.config);
    extra.push('-c', file);
  }
  let child: ChildProcess | undefined;
  let log = '';

  const start = async (): Promise<void> => {
    log = '';
    const c = spawn(bin, ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', store, ...extra], { stdio: ['ignore', 'ignore', 'pipe'] });
    child = c;
    live.add(c);
    c.stderr!.setEncoding('utf8').on('data', (d: string) => { log = (log + d).slice(-10_000); });
    c.once('exit', () => live.delete(c));
    await waitForPort(port, c, () => log);
  };
  const kill = async (): Promise<void> => {
    const c = child;
    child = undefined;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    const exited = once(c, 'exit');
    c.kill('SIGKILL');
    await exited;
  };

  await start();
  return {
    url: `nats://127.0.0.1:${port}`,
    port,
    kill,
    start,
    async [Symbol.asyncDispose]() {
      await kill();
      await rm(store, { recursive: true, force: true, maxRetries: 3 });
    },
  };
}

async function freePort(): Promise<number> {
  const srv = net.createServer();
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const { port } = srv.address() as net.AddressInfo;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

/** Ready when the port accepts a connection (bounded); fails early if the server exits. */
async function waitForPort(port: number, child: ChildProcess, log: () => string): Promise<void> {
  const deadline = Date.now() + READY_MS;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`nats-server exited (${child.exitCode ?? child.signalCode}):\n${log()}`);
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1');
      s.once('connect', () => { s.destroy(); resolve(true); });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`nats-server did not accept on 127.0.0.1:${port} within ${READY_MS} ms:\n${log()}`);
}

/** Resolves once `done()` holds, checked every 50 ms; throws after `timeoutMs` with `what()` in the message. */
export async function waitUntil(done: () => boolean, timeoutMs: number, what: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
