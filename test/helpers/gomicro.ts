import { type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { builtBinary, CACHE } from './builds.js';
import { inNetns } from './netns.js';
import { spawnTethered } from './tether.js';

/**
 * The go-micro peer: a real go-micro v5 program of ours (test/gomicro/peer) that
 * `.ci/gomicro.sh` builds into `$TSMICRO_CACHE/gomicro-peer-<hash of its Go sources>/peer`.
 * Like the servers in servers.ts, a missing binary skips a suite with the reason, except with
 * CI=true, where it is a failure; a build still running in the background is waited for
 * (bounded, see builds.ts). A peer dies with the test process that started it (tether.ts).
 */

const BUILD_PID = path.join(CACHE, 'gomicro.build.pid');
const BUILD_LOG = path.join(CACHE, 'gomicro.build.log');
/** The peer's sources, from .build/test/helpers/ back to the repo. */
const SOURCES = fileURLToPath(new URL('../../../test/gomicro/peer/', import.meta.url));
/** The .proto files whose generated Go code the peer is built with (see `.ci/gomicro.sh`). */
const PROTOS = fileURLToPath(new URL('../../../test/protos/', import.meta.url));

/** The cache path for the current sources; the same hash `.ci/gomicro.sh` computes. */
export function peerBinaryPath(): string {
  const files = readdirSync(SOURCES)
    .filter((f) => f === 'go.mod' || f === 'go.sum' || f === 'buf.gen.yaml' || f.endsWith('.go'))
    .sort();
  const h = createHash('sha256');
  for (const f of files) h.update(`${f}\n`).update(readFileSync(path.join(SOURCES, f)));
  for (const f of readdirSync(PROTOS)
    .filter((f) => f.endsWith('.proto'))
    .sort())
    h.update(`${f}\n`).update(readFileSync(path.join(PROTOS, f)));
  return path.join(CACHE, `gomicro-peer-${h.digest('hex').slice(0, 16)}`, 'peer');
}

async function findPeer(): Promise<{ bin: string } | { bin?: undefined; why: string }> {
  if (process.env.GOMICRO_PEER)
    return existsSync(process.env.GOMICRO_PEER)
      ? { bin: process.env.GOMICRO_PEER }
      : { why: `no go-micro peer at GOMICRO_PEER=${process.env.GOMICRO_PEER}` };
  const bin = peerBinaryPath();
  return builtBinary({
    what: 'the go-micro peer',
    pidFile: BUILD_PID,
    script: 'gomicro.sh',
    log: BUILD_LOG,
    missing: `no go-micro peer at ${bin}: run .ci/gomicro.sh (log: ${BUILD_LOG})`,
    find: () => (existsSync(bin) ? bin : undefined),
  });
}

/** The peer binary (GOMICRO_PEER or the cache); waits, bounded, for a background build. */
export async function peerBinary(): Promise<string | undefined> {
  return (await findPeer()).bin;
}

/** Why the go-micro suites cannot run here, or false. With CI=true a missing peer throws. */
export async function gomicroSkipReason(): Promise<string | false> {
  const found = await findPeer();
  if (found.bin !== undefined) return false;
  if (process.env.CI === 'true') throw new Error(`CI=true and ${found.why}`);
  return found.why;
}

/** A peer process: its JSON stdout lines, parsed. */
export interface Peer extends AsyncDisposable {
  readonly child: ChildProcess;
  /** Every JSON line printed so far. */
  readonly lines: Record<string, unknown>[];
  /**
   * Resolves with the first line (past or future) for which `match` holds; rejects on exit or after
   * `timeoutMs`.
   */
  waitFor(
    match: (line: Record<string, unknown>) => boolean,
    timeoutMs?: number,
  ): Promise<Record<string, unknown>>;
  /** Resolves with the exit code (or signal) once the process exited. */
  readonly exited: Promise<number | string>;
  /** Stderr so far, for failure messages. */
  stderr(): string;
  /** Sends `signal` and waits for the exit. */
  stop(signal?: NodeJS.Signals): Promise<number | string>;
}

/**
 * Starts `peer <mode> ...args` (`opts.netns`: inside that network namespace). Its stdin stays
 * open: closing it (our exit) stops a server peer.
 */
export async function startPeer(
  mode: 'server' | 'call' | 'proto-call' | 'publish' | 'subscribe' | 'event' | 'registry',
  args: string[],
  opts: { netns?: string } = {},
): Promise<Peer> {
  const bin = await peerBinary();
  if (!bin) throw new Error('no go-micro peer binary');
  const [command, argv] = opts.netns
    ? inNetns(opts.netns, bin, [mode, ...args])
    : [bin, [mode, ...args]];
  const child = spawnTethered(command, argv, { stdio: ['pipe', 'pipe', 'pipe'] });
  const lines: Record<string, unknown>[] = [];
  const waiters = new Set<{
    match: (l: Record<string, unknown>) => boolean;
    resolve: (l: Record<string, unknown>) => void;
  }>();
  let err = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => {
    err = (err + d).slice(-20_000);
  });
  createInterface({ input: child.stdout! }).on('line', (text) => {
    let line: Record<string, unknown>;
    try {
      line = JSON.parse(text) as Record<string, unknown>;
    } catch {
      line = { unparsed: text };
    }
    lines.push(line);
    for (const w of waiters)
      if (w.match(line)) {
        waiters.delete(w);
        w.resolve(line);
      }
  });
  const exited = once(child, 'exit').then(([code, signal]) => (code ?? signal) as number | string);
  const peer: Peer = {
    child,
    lines,
    exited,
    stderr: () => err,
    waitFor(match, timeoutMs = 30_000) {
      const seen = lines.find(match);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters.delete(w);
          reject(
            new Error(
              `peer ${mode}: no matching line within ${timeoutMs} ms; lines: ${JSON.stringify(lines)}; stderr:\n${err}`,
            ),
          );
        }, timeoutMs);
        const w = {
          match,
          resolve: (l: Record<string, unknown>) => {
            clearTimeout(timer);
            resolve(l);
          },
        };
        waiters.add(w);
        void exited.then((code) => {
          if (!waiters.delete(w)) return;
          clearTimeout(timer);
          reject(
            new Error(
              `peer ${mode} exited (${code}) first; lines: ${JSON.stringify(lines)}; stderr:\n${err}`,
            ),
          );
        });
      });
    },
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
    async [Symbol.asyncDispose]() {
      await peer.stop('SIGKILL');
    },
  };
  return peer;
}

/** Runs a one-shot peer mode to its end (bounded by `timeoutMs`) and returns its JSON lines. */
export async function runPeer(
  mode: 'call' | 'proto-call' | 'publish' | 'subscribe' | 'event' | 'registry',
  args: string[],
  timeoutMs = 60_000,
  opts: { netns?: string } = {},
): Promise<Record<string, unknown>[]> {
  const peer = await startPeer(mode, args, opts);
  peer.child.stdin!.end();
  const timer = setTimeout(() => peer.child.kill('SIGKILL'), timeoutMs);
  const code = await peer.exited.finally(() => clearTimeout(timer));
  if (code !== 0)
    throw new Error(
      `peer ${mode} ${args.join(' ')} exited ${code}; lines: ${JSON.stringify(peer.lines)}; stderr:\n${peer.stderr()}`,
    );
  return peer.lines;
}

/**
 * Waits until a Go subscriber really has its subscription: go-micro's NATS broker does not flush
 * the SUB, so a peer that says "subscribed" may not be known to the server yet, and messages
 * published in that gap are lost (NATS core has no buffering for absent interest). `sendProbe`
 * publishes one message with a `probe` header, every 100 ms, until the peer reports a probe
 * (bounded in count and time). The peer never counts probes.
 */
export async function probeUntilSeen(
  peer: Peer,
  sendProbe: () => Promise<void>,
  timeoutMs = 30_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (let i = 0; i < 1_000 && Date.now() < deadline; i++) {
    if (peer.lines.some((l) => l.event === 'probe')) return;
    await sendProbe();
    await new Promise((r) => setTimeout(r, 100));
  }
  if (!peer.lines.some((l) => l.event === 'probe'))
    throw new Error(
      `the Go subscriber saw no probe within ${timeoutMs} ms; stderr:\n${peer.stderr()}`,
    );
}
