import { type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { builtBinary, CACHE, type CachedBuild } from './builds.js';
import { spawnTethered } from './tether.js';
import { which } from './which.js';

export { which };

/**
 * Real Consul, etcd and NATS servers for tests, on loopback only. Suites that change a server's
 * life (kill, restart) start their own instance on free ports; nothing here touches a shared one.
 * A binary that is missing skips the suite with the reason, except with CI=true, where it is a
 * failure (`.ci/run` provisions them first). Every server dies with the test process that started
 * it (tether.ts).
 */

/** The Consul version `.ci/consul.sh` builds. */
export const CONSUL_VERSION = process.env.CONSUL_VERSION ?? '1.20.5';
const READY_MS = 60_000;

/**
 * The Consul binary: CONSUL_BIN, the one `.ci/consul.sh` builds into the cache (log and pid of a
 * background build next to it), or PATH.
 */
const CONSUL_BUILD: CachedBuild = {
  what: 'the Consul',
  pidFile: path.join(CACHE, 'consul.build.pid'),
  script: 'consul.sh',
  log: path.join(CACHE, 'consul.build.log'),
  missing: `no consul binary (PATH, CONSUL_BIN or ${path.join(CACHE, `consul-${CONSUL_VERSION}`)}): run .ci/consul.sh`,
  find() {
    if (process.env.CONSUL_BIN && existsSync(process.env.CONSUL_BIN)) return process.env.CONSUL_BIN;
    const cached = path.join(CACHE, `consul-${CONSUL_VERSION}`, 'consul');
    if (existsSync(cached)) return cached;
    // .ci/consul.sh falls back to other versions when one does not build.
    const other = existsSync(CACHE)
      ? readdirSync(CACHE).find(
          (d) => /^consul-\d/.test(d) && existsSync(path.join(CACHE, d, 'consul')),
        )
      : undefined;
    return other ? path.join(CACHE, other, 'consul') : which('consul');
  },
};

/** A server this process started. */
export interface RealServer extends AsyncDisposable {
  /** Consul: `127.0.0.1:<http port>`; etcd: `http://127.0.0.1:<client port>`. */
  readonly address: string;
  /** The server process's pid while it runs. */
  readonly pid: number | undefined;
  /** SIGKILLs the server (its ports stay reserved for {@link start}). */
  kill(): Promise<void>;
  /**
   * Starts it again on the same ports; etcd with its data (unless wiped), Consul (dev mode) empty.
   */
  start(): Promise<void>;
  /** Deletes etcd's data directory (after kill): the restarted cluster has forgotten everything. */
  wipe(): Promise<void>;
}

type Kind = 'consul' | 'etcd' | 'nats';

/**
 * Why a suite needing `kind` cannot run here, or false when it can. With CI=true a missing
 * server throws instead: CI must run every suite.
 */
export async function skipReason(kind: Kind): Promise<string | false> {
  let reason: string | undefined;
  if (kind === 'consul') {
    const found = await builtBinary(CONSUL_BUILD);
    if (found.bin === undefined) reason = found.why;
  } else if (kind === 'etcd') {
    if (!which('etcd')) reason = 'no etcd binary: apt-get install -y etcd-server';
  } else if (!(await findNats())) {
    reason = 'no NATS server at NATS_URL or 127.0.0.1:4222';
  }
  if (reason === undefined) return false;
  if (process.env.CI === 'true') throw new Error(`CI=true and ${reason}`);
  return reason;
}

/** The Consul binary (see {@link CONSUL_BUILD}); waits, bounded, for a background build. */
export async function consulBinary(): Promise<string | undefined> {
  return (await builtBinary(CONSUL_BUILD)).bin;
}

/** The NATS URL when a server answers there (NATS_URL, else 127.0.0.1:4222). */
export async function findNats(): Promise<string | undefined> {
  const url = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';
  const u = new URL(url.replace(/^nats:/, 'http:'));
  return (await canConnect(u.hostname, Number(u.port || 4222))) ? url : undefined;
}

/**
 * Starts a Consul dev agent of its own, on free loopback ports; ready when it has a leader.
 * `hcl`: extra agent configuration (e.g. ACLs); `token`: the token readiness checks send.
 */
export async function startConsul(
  opts: { hcl?: string; token?: string } = {},
): Promise<RealServer> {
  const bin = await consulBinary();
  if (!bin) throw new Error('no consul binary');
  const [http, server, lan, wan] = await freePorts(4);
  const args = [
    'agent',
    '-dev',
    '-bind',
    '127.0.0.1',
    '-client',
    '127.0.0.1',
    '-node',
    `test-${http}`,
    '-http-port',
    String(http),
    '-dns-port',
    '-1',
    '-grpc-port',
    '-1',
    '-grpc-tls-port',
    '-1',
    '-server-port',
    String(server),
    '-serf-lan-port',
    String(lan),
    '-serf-wan-port',
    String(wan),
    '-log-level',
    'warn',
    ...(opts.hcl ? ['-hcl', opts.hcl] : []),
  ];
  const address = `127.0.0.1:${http}`;
  return managed(
    bin,
    () => args,
    address,
    async () => {
      const res = await fetch(`http://${address}/v1/status/leader`, {
        signal: AbortSignal.timeout(2_000),
        ...(opts.token ? { headers: { 'X-Consul-Token': opts.token } } : {}),
      });
      if (!res.ok || (await res.text()).replace(/"/g, '').length === 0) return false;
      if (!opts.token) return true;
      // With ACLs the agent answers before its token system is up; wait until the token works.
      const self = await fetch(`http://${address}/v1/acl/token/self`, {
        signal: AbortSignal.timeout(2_000),
        headers: { 'X-Consul-Token': opts.token },
      });
      return self.ok;
    },
    undefined,
  );
}

/** Starts an etcd of its own, on free loopback ports with a temp data directory. */
export async function startEtcd(): Promise<RealServer> {
  const bin = which('etcd');
  if (!bin) throw new Error('no etcd binary');
  const [client, peer] = await freePorts(2);
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'tsmicro-etcd-'));
  const c = `http://127.0.0.1:${client}`;
  const p = `http://127.0.0.1:${peer}`;
  const args = [
    '--name',
    'default',
    '--data-dir',
    dataDir,
    '--listen-client-urls',
    c,
    '--advertise-client-urls',
    c,
    '--listen-peer-urls',
    p,
    '--initial-advertise-peer-urls',
    p,
    '--initial-cluster',
    `default=${p}`,
    '--logger',
    'zap',
    '--log-level',
    'error',
  ];
  return managed(
    bin,
    () => args,
    c,
    async () => {
      const res = await fetch(`${c}/health`, { signal: AbortSignal.timeout(2_000) });
      return res.ok && ((await res.json()) as { health?: string }).health === 'true';
    },
    dataDir,
  );
}

/**
 * A server child process started (and restartable) on fixed ports: ready when `ready()` holds
 * (bounded), SIGKILLed by `kill()`, its `dataDir` removed on dispose. Shared by Consul, etcd and
 * nats-server (test/helpers/nats.ts).
 */
export async function managed(
  bin: string,
  args: () => string[],
  address: string,
  ready: () => Promise<boolean>,
  dataDir: string | undefined,
): Promise<RealServer> {
  let child: ChildProcess | undefined;
  let log = '';
  const start = async (): Promise<void> => {
    log = '';
    const c = spawnTethered(bin, args(), { stdio: ['ignore', 'pipe', 'pipe'] });
    child = c;
    const keep = (d: Buffer): void => {
      log = (log + d.toString()).slice(-10_000);
    };
    c.stdout!.on('data', keep);
    c.stderr!.on('data', keep);
    const deadline = Date.now() + READY_MS;
    while (Date.now() < deadline) {
      if (c.exitCode !== null)
        throw new Error(`${path.basename(bin)} exited (${c.exitCode}):\n${log}`);
      if (await ready().catch(() => false)) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    c.kill('SIGKILL');
    throw new Error(`${path.basename(bin)} not ready at ${address} within ${READY_MS} ms:\n${log}`);
  };
  const kill = async (): Promise<void> => {
    const c = child;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    const exited = once(c, 'exit');
    c.kill('SIGKILL');
    await exited;
  };
  await start();
  return {
    address,
    get pid() {
      return child && child.exitCode === null && child.signalCode === null ? child.pid : undefined;
    },
    kill,
    start,
    async wipe() {
      if (dataDir) await rm(dataDir, { recursive: true, force: true });
    },
    async [Symbol.asyncDispose]() {
      await kill();
      if (dataDir) await rm(dataDir, { recursive: true, force: true, maxRetries: 3 });
    },
  };
}

export async function freePorts(n: number): Promise<number[]> {
  // Held open together so the n ports differ; released just before the server binds them.
  const servers = await Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<net.Server>((resolve, reject) => {
          const s = net.createServer();
          s.once('error', reject);
          s.listen(0, '127.0.0.1', () => resolve(s));
        }),
    ),
  );
  const ports = servers.map((s) => (s.address() as net.AddressInfo).port);
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  return ports;
}

export function canConnect(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = net.connect({ host, port });
    const done = (ok: boolean): void => {
      sock.destroy();
      resolve(ok);
    };
    sock.setTimeout(1_000, () => done(false));
    sock.once('connect', () => done(true));
    sock.once('error', () => done(false));
  });
}
