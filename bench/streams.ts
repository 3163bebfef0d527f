// The stream part of `npm run bench`: for every stream target (bench/stream-targets.ts) one
// server process and one client process (bench/stream-server.ts, bench/stream-client.ts); first a
// slow reader's memory on each target, then every point on every target in turn (see
// runStreams). Results go into the bench's JSON under `streams`.
//
// Environment: BENCH_STREAMS (0 to skip), BENCH_STREAM_TARGETS (comma list, default all),
// BENCH_STREAM_SECONDS (measured window per point, default 2), BENCH_STREAM_WARMUP_SECONDS
// (default 0.5), BENCH_STREAM_MODES (default "echo,pour"), BENCH_STREAM_SIZES (bytes per message,
// default "100,16384,1048576"), BENCH_STREAM_CONCURRENCY (streams at once, default "1,16"; messages
// of 1 MiB and more run on 1 stream only), BENCH_STREAM_SLOW (0 to skip the slow reader),
// BENCH_STREAM_SLOW_READS (messages the slow reader reads, 10 ms apart; default 100),
// BENCH_STREAM_ROUNDS (times every point is measured on every target, default 1).
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startChild, type Child } from './child.js';
import type { SlowSpec, StreamPointSpec } from './stream-client.js';
import { STREAM_TARGETS } from './stream-targets.js';

const here = path.dirname(fileURLToPath(import.meta.url));

/** One measured point of one target. */
export interface StreamPoint extends StreamPointSpec {
  target: string;
  /** Which round of {@link runStreams} measured it. */
  round?: number;
  messages?: number;
  perSec?: number;
  mbPerSec?: number;
  clientCpuMs?: number;
  serverCpuMs?: number;
  /** CPU µs per message, both processes. */
  cpuUsPerMessage?: number;
  error?: string;
}

/** A slow reader's memory growth on one target, bytes (server and client process). */
export interface SlowReader {
  target: string;
  messageBytes: number;
  reads: number;
  serverGrowthBytes?: number;
  clientGrowthBytes?: number;
  error?: string;
}

export interface StreamResults {
  seconds: number;
  warmup: number;
  /** Times every point was measured on every target (see {@link runStreams}). */
  rounds: number;
  points: StreamPoint[];
  slow: SlowReader[];
}

const list = (v: string | undefined, fallback: string): string[] =>
  (v ?? fallback).split(',').filter((s) => s !== '');

/**
 * Runs the stream benchmark as the environment says; undefined when BENCH_STREAMS=0. Every
 * target's server and client start first and wait; then each point is measured on every target
 * in turn (starting one target later at each point), for BENCH_STREAM_ROUNDS rounds, so that a
 * shared machine's slow spells fall on all targets alike rather than on whichever target ran
 * then: the ratios between targets are taken within a round.
 */
export async function runStreams(): Promise<StreamResults | undefined> {
  if (process.env.BENCH_STREAMS === '0') return undefined;
  const seconds = Number(process.env.BENCH_STREAM_SECONDS ?? '2');
  const warmup = Number(process.env.BENCH_STREAM_WARMUP_SECONDS ?? '0.5');
  const rounds = Number(process.env.BENCH_STREAM_ROUNDS ?? '1');
  const targets = list(process.env.BENCH_STREAM_TARGETS, STREAM_TARGETS.join(','));
  const modes = list(process.env.BENCH_STREAM_MODES, 'echo,pour') as StreamPointSpec['mode'][];
  const sizes = list(process.env.BENCH_STREAM_SIZES, '100,16384,1048576').map(Number);
  const streams = list(process.env.BENCH_STREAM_CONCURRENCY, '1,16').map(Number);
  const specs: StreamPointSpec[] = [];
  for (let round = 0; round < rounds; round++)
    for (const size of sizes)
      for (const n of size >= 2 ** 20 ? streams.slice(0, 1) : streams)
        for (const mode of modes) specs.push({ mode, size, streams: n });
  const slow: SlowSpec | undefined =
    process.env.BENCH_STREAM_SLOW === '0'
      ? undefined
      : { size: 16384, reads: Number(process.env.BENCH_STREAM_SLOW_READS ?? '100'), pauseMs: 10 };
  // Each client waits while the others measure: its timeout covers every target's points.
  const timeoutMs = specs.length * targets.length * (seconds + warmup) * 2_000 + 120_000;

  const results: StreamResults = { seconds, warmup, rounds, points: [], slow: [] };
  const runs: TargetRun[] = [];
  try {
    for (const target of targets) {
      const run = await startTarget(target, specs, seconds, warmup, slow, timeoutMs);
      runs.push(run);
      if (run.slow) results.slow.push(run.slow);
    }
    for (let i = 0; i < specs.length; i++) {
      const round = Math.floor(i / (specs.length / rounds));
      for (let k = 0; k < runs.length; k++) {
        const run = runs[(i + k) % runs.length];
        const p = { ...(await measurePoint(run, specs[i])), round };
        results.points.push(p);
        process.stderr.write(
          `stream ${run.target} ${p.mode} ${p.size} B x${p.streams}: ${p.error ?? `${Math.round(p.perSec ?? 0)} msgs/s`}\n`,
        );
      }
    }
  } finally {
    for (const run of runs) await stopTarget(run);
  }
  return results;
}

/** One target's server and client processes, started and waiting for the points. */
interface TargetRun {
  target: string;
  server: Child;
  client: Child;
  registryDir: string;
  slow?: SlowReader;
  /** Set once the client failed: the points it did not measure carry this. */
  error?: string;
}

async function startTarget(
  target: string,
  specs: StreamPointSpec[],
  seconds: number,
  warmup: number,
  slowSpec: SlowSpec | undefined,
  timeoutMs: number,
): Promise<TargetRun> {
  const registryDir = mkdtempSync(path.join(os.tmpdir(), 'tsmicro-bench-stream-'));
  const env = { ...process.env, BENCH_REGISTRY_DIR: registryDir };
  const node = (script: string, args: string[]): Child =>
    startChild(process.execPath, ['--expose-gc', path.join(here, script), ...args], {
      env,
      timeoutMs,
    });
  const server = node('stream-server.js', [target]);
  let client: Child | undefined;
  try {
    const [, address] = await server.line(/^ready (\S+)$/);
    const args = [address, JSON.stringify(specs), String(warmup), String(seconds)];
    if (slowSpec) args.push(JSON.stringify(slowSpec));
    client = node('stream-client.js', [target, ...args]);
    const run: TargetRun = { target, server, client, registryDir };
    if (slowSpec) {
      try {
        run.slow = await slowReader(target, slowSpec, server, client);
      } catch (err) {
        run.error = (err as Error).message.split('\n')[0].slice(0, 300);
        run.slow = { target, messageBytes: slowSpec.size, reads: slowSpec.reads, error: run.error };
      }
    }
    return run;
  } catch (err) {
    const error = (err as Error).message.split('\n')[0].slice(0, 300);
    return {
      target,
      server,
      client: client ?? server,
      registryDir,
      error,
      slow: slowSpec && { target, messageBytes: slowSpec.size, reads: slowSpec.reads, error },
    };
  }
}

/**
 * One point on one target: the client warms up when told to (so that no other target's point is
 * running meanwhile), then the server's CPU window opens and the client measures.
 */
async function measurePoint(run: TargetRun, spec: StreamPointSpec): Promise<StreamPoint> {
  if (run.error !== undefined) return { target: run.target, ...spec, error: run.error };
  try {
    const { server, client } = run;
    await client.line(/^warm$/);
    client.proc.stdin.write('go\n');
    await client.line(/^mark$/);
    server.proc.stdin.write('mark\n');
    client.proc.stdin.write('go\n');
    const [json] = await client.line(/^\{.*\}$/);
    server.proc.stdin.write('report\n');
    const serverCpuMs = Number((await server.line(/^cpu (\d+)$/))[1]) / 1000;
    const p = JSON.parse(json) as StreamPoint & { clientCpuMs?: number };
    const cpuUsPerMessage =
      p.messages && p.clientCpuMs !== undefined
        ? ((p.clientCpuMs + serverCpuMs) * 1000) / p.messages
        : undefined;
    return { ...p, target: run.target, serverCpuMs, cpuUsPerMessage };
  } catch (err) {
    run.error = (err as Error).message.split('\n')[0].slice(0, 300);
    return { target: run.target, ...spec, error: run.error };
  }
}

async function stopTarget(run: TargetRun): Promise<void> {
  if (run.client !== run.server) run.client.proc.kill('SIGKILL');
  run.server.proc.stdin.end('quit\n');
  const killer = setTimeout(() => run.server.proc.kill('SIGKILL'), 3_000);
  await run.server.exited;
  clearTimeout(killer);
  rmSync(run.registryDir, { recursive: true, force: true });
}

/** The server's memory when the slow reader has read its first message and its last. */
async function slowReader(
  target: string,
  spec: SlowSpec,
  server: Child,
  client: Child,
): Promise<SlowReader> {
  const serverMem = async (): Promise<number> => {
    server.proc.stdin.write('mem\n');
    return Number((await server.line(/^mem (\d+)$/))[1]);
  };
  const failed = client.line(/^slow-error (.*)$/).then((m) => {
    throw new Error(m[1]);
  });
  failed.catch(() => {});
  await Promise.race([client.line(/^slow-begin$/), failed]);
  const before = await serverMem();
  client.proc.stdin.write('go\n');
  const [, clientGrowth] = await Promise.race([client.line(/^slow-end (-?\d+)$/), failed]);
  const after = await serverMem();
  client.proc.stdin.write('go\n');
  return {
    target,
    messageBytes: spec.size,
    reads: spec.reads,
    serverGrowthBytes: after - before,
    clientGrowthBytes: Number(clientGrowth),
  };
}

/** The median of `values`; undefined for none. */
function median(values: number[]): number | undefined {
  if (values.length === 0) return undefined;
  const v = [...values].sort((a, b) => a - b);
  const mid = v.length >> 1;
  return v.length % 2 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
}

const fmt = (n: number, digits = 0): string =>
  n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

/**
 * The stream tables (markdown), with each target's ratio to the TCP floor and to raw grpc-js.
 * Over several rounds a cell is the median of its rounds, and a ratio the median of the rounds'
 * ratios (each taken between points measured one after the other).
 */
export function streamTables(r: StreamResults): string {
  const out: string[] = [];
  const targets = [...new Set(r.points.map((p) => p.target))];
  const specs = r.points.filter((p) => p.target === targets[0] && (p.round ?? 0) === 0);
  const rounds = r.rounds ?? 1;
  const at = (t: string, s: StreamPointSpec, round: number): StreamPoint | undefined =>
    r.points.find(
      (p) =>
        p.target === t &&
        p.mode === s.mode &&
        p.size === s.size &&
        p.streams === s.streams &&
        (p.round ?? 0) === round &&
        !p.error,
    );
  out.push(
    `\nStreams, client and server in separate processes, ${r.seconds} s per point after ${r.warmup} s warm-up, the targets in turn at each point${rounds > 1 ? `, ${rounds} rounds (medians)` : ''}; messages/s (MB/s for 1 MiB messages); ratios to tcp-stream and raw-grpc-js\n`,
  );
  out.push(`| mode | size | streams | ${targets.join(' | ')} | native/tcp | grpc/raw-grpc-js |`);
  out.push(`|---|---:|---:|${targets.map(() => '---:').join('|')}|---:|---:|`);
  for (const s of specs) {
    const mb = s.size >= 2 ** 20;
    const value = (t: string, round: number): number | undefined => {
      const p = at(t, s, round);
      return p ? (mb ? p.mbPerSec : p.perSec) : undefined;
    };
    const each = <T>(f: (round: number) => T | undefined): T[] =>
      Array.from({ length: rounds }, (_, i) => f(i)).filter((v): v is T => v !== undefined);
    const cells = targets.map((t) => {
      const v = median(each((i) => value(t, i)));
      const p = r.points.find(
        (q) => q.target === t && q.mode === s.mode && q.size === s.size && q.streams === s.streams,
      );
      return v === undefined
        ? `failed: ${p?.error ?? '?'}`
        : `${fmt(v, mb ? 1 : 0)}${mb ? ' MB/s' : ''}`;
    });
    const ratio = (a: string, b: string): string => {
      const m = median(
        each((i) => {
          const x = value(a, i);
          const y = value(b, i);
          return x !== undefined && y ? x / y : undefined;
        }),
      );
      return m === undefined ? 'n/a' : fmt(m, 2);
    };
    out.push(
      `| ${s.mode} | ${s.size} | ${s.streams} | ${cells.join(' | ')} | ${ratio('tsmicro-native', 'tcp-stream')} | ${ratio('tsmicro-grpc', 'raw-grpc-js')} |`,
    );
  }
  out.push(`\nCPU µs per message, both processes\n`);
  out.push(`| mode | size | streams | ${targets.join(' | ')} |`);
  out.push(`|---|---:|---:|${targets.map(() => '---:').join('|')}|`);
  for (const s of specs)
    out.push(
      `| ${s.mode} | ${s.size} | ${s.streams} | ${targets
        .map((t) => {
          const c = median(
            Array.from({ length: rounds }, (_, i) => at(t, s, i)?.cpuUsPerMessage).filter(
              (v): v is number => v !== undefined,
            ),
          );
          return c === undefined ? 'n/a' : fmt(c, 1);
        })
        .join(' | ')} |`,
    );
  if (r.slow.length > 0) {
    out.push(
      `\nA slow reader (one stream, ${r.slow[0].messageBytes}-byte messages, ${r.slow[0].reads} read 10 ms apart): memory growth while it read, after a full GC\n`,
    );
    out.push('| target | server KiB | client KiB |\n|---|---:|---:|');
    for (const s of r.slow)
      out.push(
        s.error
          ? `| ${s.target} | failed: ${s.error} | |`
          : `| ${s.target} | ${fmt(s.serverGrowthBytes! / 1024)} | ${fmt(s.clientGrowthBytes! / 1024)} |`,
      );
  }
  return out.join('\n');
}
