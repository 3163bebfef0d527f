// The benchmark runner (`npm run bench`): for every target and concurrency, a server process and
// a client process (bench/server.ts, bench/client.ts), warm-up, then a measured window; then the
// paired latency measurements at 1 in flight (bench/paired.ts: the gRPC targets, and native
// against the TCP floor), the in-process measurements
// (bench/micro.ts) and the tail-latency one (bench/tail.ts). Prints a table and writes the JSON to bench/results/.
//
// The `go-micro` target is go-micro itself (bench/gomicro.ts), skipped with the reason when it
// cannot be built.
//
// Environment: BENCH_SECONDS (measured window per point, default 10), BENCH_WARMUP_SECONDS
// (default 2), BENCH_CONCURRENCY (default "1,16,128"), BENCH_TARGETS (comma list, default all),
// BENCH_PAIRED (0 to skip the paired latency measurements, bench/paired.ts), BENCH_MICRO (0 to
// skip the in-process part), BENCH_TAIL (0 to skip the tail-latency part, bench/tail.ts),
// BENCH_UNARY (0 to skip the round trips), BENCH_RESULTS_DIR (default bench/results); the stream
// part's own settings are in bench/streams.ts, the HTTP gateway part's in bench/gateway.ts.
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startChild, type Child } from './child.js';
import type { TailResult } from './tail.js';
import { GO_MICRO, goMicroBinary } from './gomicro.js';
import { gatewayTables, runGateway } from './gateway.js';
import { runStreams, streamTables } from './streams.js';
import { PAYLOAD_BYTES, TARGETS } from './targets.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../..');
const seconds = Number(process.env.BENCH_SECONDS ?? '10');
const warmup = Number(process.env.BENCH_WARMUP_SECONDS ?? '2');
const concurrencies = (process.env.BENCH_CONCURRENCY ?? '1,16,128').split(',').map(Number);
const targets =
  process.env.BENCH_UNARY === '0'
    ? []
    : process.env.BENCH_TARGETS
      ? process.env.BENCH_TARGETS.split(',')
      : [...TARGETS, GO_MICRO];
const resultsDir = process.env.BENCH_RESULTS_DIR ?? path.join(root, 'bench', 'results');
const pointTimeoutMs = (seconds + warmup) * 1000 + 60_000;

interface Point {
  target: string;
  concurrency: number;
  perSec: number;
  p50us: number;
  p99us: number;
  clientCpuMs: number;
  serverCpuMs: number;
  /** CPU µs per call, both processes. */
  cpuUsPerCall: number;
  calls: number;
  errors: number;
  firstError?: string | undefined;
  skipped?: string;
}

/**
 * A node script as a child process whose stdout lines can be awaited, each for one point's time at
 * most.
 */
function child(args: string[], env: NodeJS.ProcessEnv, command = process.execPath): Child {
  return startChild(command, args, { env, timeoutMs: pointTimeoutMs });
}

/** A target's server process, with the registry directory it shares with its client(s). */
interface ServerProcess {
  proc: ChildProcess;
  registryDir: string;
  env: NodeJS.ProcessEnv;
  line: Child['line'];
}

/** `goBinary`: go-micro's bench program (bench/gomicro), whose server and client speak alike. */
function startServer(target: string, goBinary?: string): ServerProcess {
  const registryDir = mkdtempSync(path.join(os.tmpdir(), 'tsmicro-bench-'));
  const env = { ...process.env, BENCH_REGISTRY_DIR: registryDir };
  const { proc, line } = goBinary
    ? child(['server'], env, goBinary)
    : child([path.join(here, 'server.js'), target], env);
  return { proc, registryDir, env, line };
}

/** Asks the server to quit (killing it after 3 s) and removes its registry directory. */
async function stopServer(server: ServerProcess): Promise<void> {
  server.proc.stdin!.end('quit\n');
  const killer = setTimeout(() => server.proc.kill('SIGKILL'), 3_000);
  await new Promise((r) =>
    server.proc.exitCode !== null ? r(undefined) : server.proc.once('exit', r),
  );
  clearTimeout(killer);
  rmSync(server.registryDir, { recursive: true, force: true });
}

async function point(target: string, concurrency: number): Promise<Point> {
  let server: ServerProcess | undefined;
  let client: Child | undefined;
  try {
    const goBinary = target === GO_MICRO ? await goMicroBinary() : undefined;
    server = startServer(target, goBinary);
    const [, address] = await server.line(/^ready (\S+)$/);
    const args = [address, String(concurrency), String(warmup), String(seconds)];
    client = goBinary
      ? child(['client', ...args], server.env, goBinary)
      : child([path.join(here, 'client.js'), target, ...args], server.env);
    await client.line(/^measuring$/);
    server.proc.stdin!.write('mark\n');
    await client.line(/^done$/);
    server.proc.stdin!.write('report\n');
    const [, cpu] = await server.line(/^cpu (\d+)$/);
    const [json] = await client.line(/^\{.*\}$/);
    const r = JSON.parse(json) as Omit<
      Point,
      'target' | 'concurrency' | 'serverCpuMs' | 'cpuUsPerCall'
    >;
    const serverCpuMs = Number(cpu) / 1000;
    return {
      target,
      concurrency,
      ...r,
      serverCpuMs,
      cpuUsPerCall: r.calls > 0 ? ((r.clientCpuMs + serverCpuMs) * 1000) / r.calls : 0,
    };
  } catch (err) {
    return {
      target,
      concurrency,
      perSec: 0,
      p50us: 0,
      p99us: 0,
      clientCpuMs: 0,
      serverCpuMs: 0,
      cpuUsPerCall: 0,
      calls: 0,
      errors: 0,
      skipped: (err as Error).message.split('\n')[0].slice(0, 300),
    };
  } finally {
    client?.proc.kill('SIGKILL');
    if (server) await stopServer(server);
  }
}

const fmt = (n: number, digits = 0): string =>
  n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

const points: Point[] = [];
for (const c of concurrencies) {
  for (const t of targets) {
    const p = await point(t, c);
    points.push(p);
    process.stderr.write(
      `${t} c=${c}: ${p.skipped ? `skipped (${p.skipped})` : `${fmt(p.perSec)} calls/s`}\n`,
    );
  }
}

interface PairedResult {
  calls: number;
  errors: number;
  p50us: number;
  p99us: number;
}

/**
 * The gRPC targets again at 1 in flight, measured by bench/paired.ts: one client process calls
 * each in turn, so all of them see the same machine state (see there). Each server gets its own
 * process and registry directory, as in {@link point}.
 */
async function measurePaired(names: string[]): Promise<Record<string, PairedResult> | undefined> {
  const servers: ServerProcess[] = [];
  try {
    const args: string[] = [];
    for (const name of names) {
      const server = startServer(name);
      servers.push(server);
      const [, address] = await server.line(/^ready (\S+)$/);
      args.push(`${name}=${address}`);
    }
    const client = child(
      [path.join(here, 'paired.js'), String(seconds), String(warmup), ...args],
      process.env,
    );
    try {
      return JSON.parse((await client.line(/^\{.*\}$/))[0]) as Record<string, PairedResult>;
    } finally {
      client.proc.kill('SIGKILL');
    }
  } catch (err) {
    process.stderr.write(`paired measurement failed: ${(err as Error).message.split('\n')[0]}\n`);
    return undefined;
  } finally {
    for (const server of servers) await stopServer(server);
  }
}

const pairedTargets = [
  'tsmicro-grpc',
  'tsmicro-grpc-explicit',
  'raw-grpc-js',
  'raw-grpc-js-gomicro',
].filter((t) => targets.includes(t));
const paired =
  process.env.BENCH_PAIRED !== '0' && pairedTargets.length >= 2
    ? await measurePaired(pairedTargets)
    : undefined;
// The native one-in-flight latency against the raw TCP floor's, paired the same way: at 1 in
// flight their p50s are tens of µs apart, less than the machine's load moves either.
const nativePaired =
  process.env.BENCH_PAIRED !== '0' &&
  targets.includes('tsmicro-native') &&
  targets.includes('tcp-floor')
    ? await measurePaired(['tcp-floor', 'tsmicro-native'])
    : undefined;

let micro: Record<string, unknown> | undefined;
let tail: { inFlight: number; warmup: number; results: TailResult[] } | undefined;
if (process.env.BENCH_MICRO !== '0') {
  const m = child(['--expose-gc', path.join(here, 'micro.js')], process.env);
  micro = JSON.parse((await m.line(/^\{.*\}$/))[0]) as Record<string, unknown>;
}
if (process.env.BENCH_TAIL !== '0') {
  const m = child([path.join(here, 'tail.js')], process.env);
  tail = JSON.parse((await m.line(/^\{.*\}$/))[0]) as typeof tail;
}

const streams = await runStreams();
const gateway = await runGateway();

const at = (t: string, c: number): Point | undefined =>
  points.find((p) => p.target === t && p.concurrency === c && !p.skipped);
const ratio = (a: number | undefined, b: number | undefined): number | undefined =>
  a !== undefined && b ? a / b : undefined;
const ratios: Record<string, number | undefined> = {};
for (const c of concurrencies) {
  ratios[`native/moleculer-tcp c=${c}`] = ratio(
    at('tsmicro-native', c)?.perSec,
    at('moleculer-tcp', c)?.perSec,
  );
  ratios[`native/tcp-floor c=${c}`] = ratio(
    at('tsmicro-native', c)?.perSec,
    at('tcp-floor', c)?.perSec,
  );
  ratios[`native/go-micro c=${c}`] = ratio(
    at('tsmicro-native', c)?.perSec,
    at(GO_MICRO, c)?.perSec,
  );
  ratios[`tsmicro-grpc/go-micro c=${c}`] = ratio(
    at('tsmicro-grpc', c)?.perSec,
    at(GO_MICRO, c)?.perSec,
  );
  ratios[`tsmicro-grpc/raw-grpc-js c=${c}`] = ratio(
    at('tsmicro-grpc', c)?.perSec,
    at('raw-grpc-js', c)?.perSec,
  );
  ratios[`tsmicro-grpc/raw-grpc-js-gomicro c=${c}`] = ratio(
    at('tsmicro-grpc', c)?.perSec,
    at('raw-grpc-js-gomicro', c)?.perSec,
  );
  ratios[`tsmicro-grpc-explicit/raw-grpc-js c=${c}`] = ratio(
    at('tsmicro-grpc-explicit', c)?.perSec,
    at('raw-grpc-js', c)?.perSec,
  );
}
ratios['native/tcp-floor p50 c=1'] = ratio(
  at('tsmicro-native', 1)?.p50us,
  at('tcp-floor', 1)?.p50us,
);
const nativePairedP50Ratio = ratio(
  nativePaired?.['tsmicro-native']?.p50us,
  nativePaired?.['tcp-floor']?.p50us,
);
const p50a = at('tsmicro-grpc', 1)?.p50us;
const p50b = at('raw-grpc-js', 1)?.p50us;
const p50c = at('raw-grpc-js-gomicro', 1)?.p50us;
const p50d = at('tsmicro-grpc-explicit', 1)?.p50us;

console.log(
  `\nRPC round trips, ${PAYLOAD_BYTES.length}-byte payload, client and server in separate processes, ${seconds} s per point after ${warmup} s warm-up (${os.cpus().length} cores, Node ${process.version})\n`,
);
console.log(
  '| target | in flight | calls/s | p50 µs | p99 µs | client CPU ms | server CPU ms | CPU µs/call |',
);
console.log('|---|---:|---:|---:|---:|---:|---:|---:|');
for (const p of points) {
  if (p.skipped) {
    console.log(`| ${p.target} | ${p.concurrency} | skipped: ${p.skipped} | | | | | |`);
    continue;
  }
  console.log(
    `| ${p.target} | ${p.concurrency} | ${fmt(p.perSec)} | ${fmt(p.p50us)} | ${fmt(p.p99us)} | ${fmt(p.clientCpuMs)} | ${fmt(p.serverCpuMs)} | ${fmt(p.cpuUsPerCall, 1)} |${p.errors ? ` ${p.errors} errors: ${p.firstError}` : ''}`,
  );
}
console.log('\n| ratio (within this run) | value |\n|---|---:|');
for (const [k, v] of Object.entries(ratios))
  console.log(`| ${k} | ${v === undefined ? 'n/a' : fmt(v, 2)} |`);
if (p50a !== undefined && p50b !== undefined)
  console.log(`| tsmicro-grpc p50 − raw-grpc-js p50, c=1 | ${fmt(p50a - p50b)} µs |`);
if (p50a !== undefined && p50c !== undefined)
  console.log(`| tsmicro-grpc p50 − raw-grpc-js-gomicro p50, c=1 | ${fmt(p50a - p50c)} µs |`);
if (p50d !== undefined && p50b !== undefined)
  console.log(`| tsmicro-grpc-explicit p50 − raw-grpc-js p50, c=1 | ${fmt(p50d - p50b)} µs |`);
if (paired) {
  console.log(
    `\nPaired at 1 in flight: one client process calling each target in turn, 200 calls at a time, ${seconds} s after ${warmup} s warm-up\n`,
  );
  console.log('| target | calls | p50 µs | p99 µs |\n|---|---:|---:|---:|');
  for (const [name, r] of Object.entries(paired))
    console.log(
      `| ${name} | ${fmt(r.calls)} | ${fmt(r.p50us)} | ${fmt(r.p99us)} |${r.errors ? ` ${r.errors} errors` : ''}`,
    );
  for (const base of ['raw-grpc-js', 'raw-grpc-js-gomicro']) {
    for (const name of ['tsmicro-grpc', 'tsmicro-grpc-explicit']) {
      const r = paired[name];
      const b = paired[base];
      if (r && b)
        console.log(`| ${name} p50 − ${base} p50, paired | ${fmt(r.p50us - b.p50us)} µs | | |`);
    }
  }
}
if (nativePaired) {
  console.log(
    `\nNative against the TCP floor, paired at 1 in flight (as above), ${seconds} s after ${warmup} s warm-up\n`,
  );
  console.log('| target | calls | p50 µs | p99 µs |\n|---|---:|---:|---:|');
  for (const [name, r] of Object.entries(nativePaired))
    console.log(
      `| ${name} | ${fmt(r.calls)} | ${fmt(r.p50us)} | ${fmt(r.p99us)} |${r.errors ? ` ${r.errors} errors` : ''}`,
    );
  if (nativePairedP50Ratio !== undefined)
    console.log(
      `| tsmicro-native p50 / tcp-floor p50, paired | ${fmt(nativePairedP50Ratio, 2)} | | |`,
    );
}
if (micro) console.log(`\nIn-process: ${JSON.stringify(micro)}`);
if (tail) {
  console.log(
    `\nTail latency (bench/tail.ts): 3 nodes, one stalling 200 ms on 5 % of its calls; ${tail.inFlight} calls in flight, ${fmt(tail.results[0]?.calls ?? 0)} calls per mode after ${fmt(tail.warmup)} of warm-up\n`,
  );
  console.log(
    '| mode | p50 ms | p99 ms | p99.9 ms | extra attempts | errors |\n|---|---:|---:|---:|---:|---:|',
  );
  for (const r of tail.results)
    console.log(
      `| ${r.mode} | ${fmt(r.p50ms, 2)} | ${fmt(r.p99ms, 1)} | ${fmt(r.p999ms, 1)} | ${fmt(r.extraAttemptsPct, 1)} % | ${r.errors} |${r.firstError ? ` ${r.firstError}` : ''}`,
    );
}
if (streams) console.log(streamTables(streams));
if (gateway) console.log(gatewayTables(gateway));

mkdirSync(resultsDir, { recursive: true });
const file = path.join(resultsDir, `bench-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
writeFileSync(
  file,
  `${JSON.stringify(
    {
      date: new Date().toISOString(),
      node: process.version,
      cpus: os.cpus().length,
      cpuModel: os.cpus()[0]?.model,
      loadavg: os.loadavg(),
      payloadBytes: PAYLOAD_BYTES.length,
      seconds,
      warmup,
      points,
      ratios,
      grpcP50DeltaUs: p50a !== undefined && p50b !== undefined ? p50a - p50b : undefined,
      grpcP50DeltaGoMicroUs: p50a !== undefined && p50c !== undefined ? p50a - p50c : undefined,
      grpcExplicitP50DeltaUs: p50d !== undefined && p50b !== undefined ? p50d - p50b : undefined,
      paired,
      nativePaired,
      nativePairedP50Ratio,
      micro,
      tail,
      streams,
      gateway,
    },
    null,
    2,
  )}\n`,
);
console.log(`\nresults: ${path.relative(process.cwd(), file)}`);
