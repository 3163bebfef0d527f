import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

/**
 * Real Consul, etcd and NATS servers for tests, on loopback only. Suites that change a server's
 * life (kill, restart) start their own instance on free ports; nothing here touches a shared one.
 * A binary that is missing skips the suite with the reason, except with CI=true, where it is a
 * failure (`.ci/run` provisions them first).
 */

/** The Consul version `.ci/consul.sh` builds. */
export const CONSUL_VERSION = process.env.CONSUL_VERSION ?? '1.20.5';
const CACHE = path.join(os.homedir(), '.cache', 'tsmicro');
/** Where `.ci/consul.sh` records the pid (and log) of a build still running in the background. */
const BUILD_PID = path.join(CACHE, 'consul.build.pid');
const BUILD_LOG = path.join(CACHE, 'consul.build.log');
/** Longest wait for a background Consul build (a cold one takes 8–20 min on 2 cores). */
const BUILD_WAIT_MS = Number(process.env.CONSUL_BUILD_WAIT_MS ?? 25 * 60_000);
const READY_MS = 60_000;

const children = new Set<ChildProcess>();
// A test that crashes must not leave servers behind.
process.on('exit', () => {
  for (const c of children) c.kill('SIGKILL');
});

/** A server this process started. */
export interface RealServer extends AsyncDisposable {
  /** Consul: `127.0.0.1:<http port>`; etcd: `http://127.0.0.1:<client port>`. */
  readonly address: string;
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
  const found =
    kind === 'consul' ? await consulBinary() : kind === 'etcd' ? which('etcd') : await findNats();
  if (found) return false;
  const reason =
    kind === 'consul'
      ? `no consul binary (PATH, CONSUL_BIN or ${path.join(CACHE, `consul-${CONSUL_VERSION}`)}): run .ci/consul.sh`
      : kind === 'etcd'
        ? 'no etcd binary: apt-get install -y etcd-server'
        : 'no NATS server at NATS_URL or 127.0.0.1:4222';
  if (process.env.CI === 'true') throw new Error(`CI=true and ${reason}`);
  return reason;
}

/** The Consul binary: CONSUL_BIN, PATH, or the cache; waits (bounded) for a background build. */
export async function consulBinary(): Promise<string | undefined> {
  const find = (): string | undefined => {
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
  };
  const deadline = Date.now() + BUILD_WAIT_MS;
  let found = find();
  let told = false;
  while (!found && buildRunning() && Date.now() < deadline) {
    if (!told)
      process.stderr.write(`waiting for the Consul build in the background (log: ${BUILD_LOG})\n`);
    told = true;
    await new Promise((r) => setTimeout(r, 2_000));
    found = find();
  }
  return found;
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
    const c = spawn(bin, args(), { stdio: ['ignore', 'pipe', 'pipe'] });
    child = c;
    children.add(c);
    c.on('exit', () => children.delete(c));
    const keep = (d: Buffer): void => {
      log = (log + d.toString()).slice(-10_000);
    };
    c.stdout.on('data', keep);
    c.stderr.on('data', keep);
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

function buildRunning(): boolean {
  try {
    const pid = Number(readFileSync(BUILD_PID, 'utf8').trim());
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export function which(name: string): string | undefined {
  // PATH first; then the usual dirs, for a CI shell whose PATH is minimal.
  const dirs = [
    ...(process.env.PATH ?? '').split(path.delimiter),
    '/usr/local/bin',
    '/usr/bin',
    '/usr/local/sbin',
    '/usr/sbin',
  ];
  for (const dir of dirs) {
    const p = path.join(dir, name);
    if (dir && existsSync(p)) return p;
  }
  return undefined;
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
