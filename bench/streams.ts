// The stream part of `npm run bench`: for every stream target (bench/stream-targets.ts) one
// server process and one client process (bench/stream-server.ts, bench/stream-client.ts), which
// runs every point in turn; then a slow reader's memory on each target. Results go into the
// bench's JSON under `streams`.
//
// Environment: BENCH_STREAMS (0 to skip), BENCH_STREAM_TARGETS (comma list, default all),
// BENCH_STREAM_SECONDS (measured window per point, default 2), BENCH_STREAM_WARMUP_SECONDS
// (default 0.5), BENCH_STREAM_MODES (default "echo,pour"), BENCH_STREAM_SIZES (bytes per message,
// default "100,16384,1048576"), BENCH_STREAM_CONCURRENCY (streams at once, default "1,16"; messages
// of 1 MiB and more run on 1 stream only), BENCH_STREAM_SLOW (0 to skip the slow reader),
// BENCH_STREAM_SLOW_READS (messages the slow reader reads, 10 ms apart; default 100).
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
  points: StreamPoint[];
  slow: SlowReader[];
}

const list = (v: string | undefined, fallback: string): string[] =>
  (v ?? fallback).split(',').filter((s) => s !== '');

/** Runs the stream benchmark as the environment says; undefined when BENCH_STREAMS=0. */
export async function runStreams(): Promise<StreamResults | undefined> {
  if (process.env.BENCH_STREAMS === '0') return undefined;
  const seconds = Number(process.env.BENCH_STREAM_SECONDS ?? '2');
  const warmup = Number(process.env.BENCH_STREAM_WARMUP_SECONDS ?? '0.5');
  const targets = list(process.env.BENCH_STREAM_TARGETS, STREAM_TARGETS.join(','));
  const modes = list(process.env.BENCH_STREAM_MODES, 'echo,pour') as StreamPointSpec['mode'][];
  const sizes = list(process.env.BENCH_STREAM_SIZES, '100,16384,1048576').map(Number);
  const streams = list(process.env.BENCH_STREAM_CONCURRENCY, '1,16').map(Number);
  const specs: StreamPointSpec[] = [];
  for (const size of sizes)
    for (const n of size >= 2 ** 20 ? streams.slice(0, 1) : streams)
      for (const mode of modes) specs.push({ mode, size, streams: n });
  const slow: SlowSpec | undefined =
    process.env.BENCH_STREAM_SLOW === '0'
      ? undefined
      : { size: 16384, reads: Number(process.env.BENCH_STREAM_SLOW_READS ?? '100'), pauseMs: 10 };
  const timeoutMs = specs.length * (seconds + warmup) * 2_000 + 120_000;

  const results: StreamResults = { seconds, warmup, points: [], slow: [] };
  for (const target of targets) {
    const r = await runTarget(target, specs, seconds, warmup, slow, timeoutMs);
    results.points.push(...r.points);
    if (r.slow) results.slow.push(r.slow);
    for (const p of r.points)
      process.stderr.write(
        `stream ${target} ${p.mode} ${p.size} B x${p.streams}: ${p.error ?? `${Math.round(p.perSec ?? 0)} msgs/s`}\n`,
      );
  }
  return results;
}

async function runTarget(
  target: string,
  specs: StreamPointSpec[],
  seconds: number,
  warmup: number,
  slowSpec: SlowSpec | undefined,
  timeoutMs: number,
): Promise<{ points: StreamPoint[]; slow?: SlowReader }> {
  const registryDir = mkdtempSync(path.join(os.tmpdir(), 'tsmicro-bench-stream-'));
  const env = { ...process.env, BENCH_REGISTRY_DIR: registryDir };
  const node = (script: string, args: string[]): Child =>
    startChild(process.execPath, ['--expose-gc', path.join(here, script), ...args], {
      env,
      timeoutMs,
    });
  const server = node('stream-server.js', [target]);
  let client: Child | undefined;
  const points: StreamPoint[] = [];
  let slow: SlowReader | undefined;
  try {
    const [, address] = await server.line(/^ready (\S+)$/);
    const args = [address, JSON.stringify(specs), String(warmup), String(seconds)];
    if (slowSpec) args.push(JSON.stringify(slowSpec));
    client = node('stream-client.js', [target, ...args]);
    if (slowSpec) slow = await slowReader(target, slowSpec, server, client);
    for (let i = 0; i < specs.length; i++) {
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
      points.push({ ...p, target, serverCpuMs, cpuUsPerMessage });
    }
    await client.line(/^done$/);
  } catch (err) {
    const error = (err as Error).message.split('\n')[0].slice(0, 300);
    for (const spec of specs.slice(points.length)) points.push({ target, ...spec, error });
    slow ??= slowSpec
      ? { target, messageBytes: slowSpec.size, reads: slowSpec.reads, error }
      : undefined;
  } finally {
    client?.proc.kill('SIGKILL');
    server.proc.stdin.end('quit\n');
    const killer = setTimeout(() => server.proc.kill('SIGKILL'), 3_000);
    await server.exited;
    clearTimeout(killer);
    rmSync(registryDir, { recursive: true, force: true });
  }
  return { points, slow };
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

const fmt = (n: number, digits = 0): string =>
  n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

/** The stream tables (markdown), with each target's ratio to the TCP floor and to raw grpc-js. */
export function streamTables(r: StreamResults): string {
  const out: string[] = [];
  const targets = [...new Set(r.points.map((p) => p.target))];
  const specs = r.points.filter((p) => p.target === targets[0]);
  const at = (t: string, s: StreamPointSpec): StreamPoint | undefined =>
    r.points.find(
      (p) =>
        p.target === t &&
        p.mode === s.mode &&
        p.size === s.size &&
        p.streams === s.streams &&
        !p.error,
    );
  out.push(
    `\nStreams, client and server in separate processes, ${r.seconds} s per point after ${r.warmup} s warm-up; messages/s (MB/s for 1 MiB messages); ratios to tcp-stream and raw-grpc-js\n`,
  );
  out.push(`| mode | size | streams | ${targets.join(' | ')} | native/tcp | grpc/raw-grpc-js |`);
  out.push(`|---|---:|---:|${targets.map(() => '---:').join('|')}|---:|---:|`);
  for (const s of specs) {
    const mb = s.size >= 2 ** 20;
    const value = (t: string): number | undefined => {
      const p = at(t, s);
      return p ? (mb ? p.mbPerSec : p.perSec) : undefined;
    };
    const cells = targets.map((t) => {
      const v = value(t);
      const p = r.points.find(
        (q) => q.target === t && q.mode === s.mode && q.size === s.size && q.streams === s.streams,
      );
      return v === undefined
        ? `failed: ${p?.error ?? '?'}`
        : `${fmt(v, mb ? 1 : 0)}${mb ? ' MB/s' : ''}`;
    });
    const ratio = (a: string, b: string): string => {
      const x = value(a);
      const y = value(b);
      return x !== undefined && y ? fmt(x / y, 2) : 'n/a';
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
          const c = at(t, s)?.cpuUsPerMessage;
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
