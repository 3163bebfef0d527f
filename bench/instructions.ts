// Instructions per call, counted by valgrind's callgrind: a speed measure that does not drift
// with what else this machine is doing, where wall-clock runs on a shared 2-vCPU VM do (the same
// raw grpc-js point has ranged over a factor of 1.8). For each target, the server process, then
// the client process, runs under callgrind while callers make calls (one at a time unless
// BENCH_INSTR_CONCURRENCY says more); instrumentation is off for the warm-up and on for the
// counted calls only, and V8's optimizing compiler is left out (see dumped()). Repeat runs agreed
// within a few per cent on the server side and ~10 % on the client side: when V8 tiers code up
// still varies a little with timing.
//
// Usage: npm run bench:instructions
// Environment: BENCH_INSTR_TARGETS (comma-separated, default below), BENCH_INSTR_SIDES
// (server,client), BENCH_INSTR_CONCURRENCY (calls in flight, default 1), BENCH_INSTR_WARMUP
// (calls, default 20000), BENCH_INSTR_CALLS (default 10000), BENCH_CALL_TIMEOUT_MS (each call's
// deadline, default 5 min: see below), BENCH_RESULTS_DIR, BENCH_INSTR_KEEP (a directory: each
// counted dump is copied there as callgrind.<target>.<side>, for callgrind_annotate).
import { execFile, execFileSync } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startChild } from './child.js';
import { TARGETS } from './targets.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const DEFAULT_TARGETS = [
  'raw-grpc-js',
  'raw-grpc-js-gomicro',
  'tsmicro-grpc',
  'tsmicro-grpc-explicit',
  'tsmicro-native',
  'moleculer-tcp',
  'tcp-floor',
];
const targets = (process.env.BENCH_INSTR_TARGETS ?? DEFAULT_TARGETS.join(','))
  .split(',')
  .filter(Boolean);
const sides = (process.env.BENCH_INSTR_SIDES ?? 'server,client')
  .split(',')
  .filter(Boolean) as Side[];
const warmup = Number(process.env.BENCH_INSTR_WARMUP ?? '20000');
const calls = Number(process.env.BENCH_INSTR_CALLS ?? '10000');
const concurrency = Number(process.env.BENCH_INSTR_CONCURRENCY ?? '1');
/** Under callgrind a process runs ~50× slower; no single measurement may take longer than this. */
const MEASUREMENT_TIMEOUT_MS = 15 * 60_000;
/**
 * Each call's deadline in the measured processes. The default 5 s is met on an idle machine, but
 * not always on a loaded one, where the process under callgrind also stands still while it
 * dumps: one call over its deadline fails the driver. The deadline's value only changes a
 * header's digits, not the path a call takes.
 */
const CALL_TIMEOUT_MS = process.env.BENCH_CALL_TIMEOUT_MS ?? String(5 * 60_000);

type Side = 'server' | 'client';
const known: readonly string[] = TARGETS;
for (const t of targets) if (!known.includes(t)) throw new Error(`unknown target ${t}`);
for (const s of sides as string[])
  if (s !== 'server' && s !== 'client') throw new Error(`unknown side ${s}`);
try {
  execFileSync('valgrind', ['--version']);
} catch {
  throw new Error('bench:instructions needs valgrind (Debian package valgrind)');
}

/**
 * A child process (server or driver) whose stdout lines can be awaited, with the driver's
 * `done <n>` progress lines kept apart: `progress(n)` waits until it has reported n calls.
 */
function start(command: string, args: string[], env: NodeJS.ProcessEnv) {
  let reported = 0;
  const progressed: (() => void)[] = [];
  const child = startChild(command, args, {
    env,
    timeoutMs: MEASUREMENT_TIMEOUT_MS,
    onLine: (l) => {
      const done = /^done (\d+)$/.exec(l);
      if (!done) return false;
      reported = Number(done[1]);
      for (const w of progressed.splice(0)) w();
      return true;
    },
  });
  void child.exited.then(() => {
    for (const w of progressed.splice(0)) w();
  });
  async function progress(n: number): Promise<void> {
    const deadline = Date.now() + MEASUREMENT_TIMEOUT_MS;
    while (reported < n) {
      if (child.proc.exitCode !== null || child.proc.signalCode !== null)
        throw new Error(`the driver exited before making ${n} calls: ${child.stderr()}`);
      if (Date.now() > deadline)
        throw new Error(
          `the driver made ${reported} of ${n} calls in ${MEASUREMENT_TIMEOUT_MS} ms`,
        );
      await new Promise<void>((resolve) => progressed.push(resolve));
    }
  }
  return { ...child, progress, calls: () => reported };
}

/** The command and arguments that run a node script under callgrind, instrumentation off. */
function underCallgrind(outFile: string, script: string, args: string[]): [string, string[]] {
  return [
    'valgrind',
    [
      '--tool=callgrind',
      '--instr-atstart=no',
      `--callgrind-out-file=${outFile}`,
      process.execPath,
      script,
      ...args,
    ],
  ];
}

/** Runs callgrind_control with `flag` on process `pid`; resolves once callgrind has answered. */
function callgrindControl(flag: string, pid: number): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(
      'callgrind_control',
      [flag, String(pid)],
      { timeout: MEASUREMENT_TIMEOUT_MS },
      (err) => (err ? reject(new Error(`callgrind_control ${flag}: ${err.message}`)) : resolve()),
    );
  });
}

/**
 * What callgrind counted in its second dump (`<outFile>.2`): all instructions, and those of
 * V8's optimizing compiler among them. A function V8 optimizes late (or again) is compiled
 * inside the counted span now and then, mostly in clients (seen: 0–55 k per call over 10,000
 * calls, after 20,000 or 60,000 calls of warm-up alike): the cost of reaching the steady
 * state, not of a call in it.
 */
function dumped(outFile: string): { all: number; compiler: number } {
  const dump = `${outFile}.2`;
  if (!existsSync(dump))
    throw new Error(
      `callgrind wrote no second dump: ${readdirSync(path.dirname(outFile)).join(', ')}`,
    );
  const summary = readFileSync(dump, 'utf8').match(/^summary: (\d+)/m);
  if (!summary) throw new Error(`no summary line in ${dump}`);
  // Inclusive costs of the compilers' entries: on a helper thread (concurrent) and on the main
  // thread (when V8 compiles in place). Their names differ by V8 version, and from Node 22 on
  // Maglev, V8's mid-tier optimizing compiler, is on as well.
  const annotated = execFileSync(
    'callgrind_annotate',
    ['--inclusive=yes', '--threshold=100', dump],
    { maxBuffer: 1 << 28 },
  ).toString();
  let compiler = 0;
  for (const line of annotated.split('\n')) {
    const m = /^\s*([\d,]+) .*?:v8::internal::([\w:]+)\(/.exec(line);
    if (m && COMPILER_ENTRIES.has(m[2]) && !line.includes("'"))
      compiler += Number(m[1].replace(/,/g, ''));
  }
  return { all: Number(summary[1]), compiler };
}

/**
 * Where V8's optimizing compilers start, as callgrind_annotate names them (after
 * `v8::internal::`): Turbofan's concurrent task (Node 20 and 22, then Node 24's), Maglev's
 * concurrent job, and the main thread's runtime entries.
 */
const COMPILER_ENTRIES = new Set([
  'OptimizingCompileDispatcher::CompileTask::RunInternal',
  'OptimizingCompileTaskExecutor::CompileTask::Run',
  'maglev::MaglevConcurrentDispatcher::JobTask::Run',
  'Runtime_CompileOptimized',
  'Runtime_CompileOptimizedOSR',
  'Runtime_CompileOptimizedOSRFromMaglev',
]);

/** Per call: the instructions counted but V8's optimizing compiler's, and the compiler's. */
interface Count {
  instructionsPerCall: number;
  compilerPerCall: number;
}

async function measure(target: string, side: Side): Promise<Count> {
  const work = mkdtempSync(path.join(os.tmpdir(), 'tsmicro-instr-'));
  const env = {
    ...process.env,
    BENCH_REGISTRY_DIR: path.join(work, 'registry'),
    BENCH_CALL_TIMEOUT_MS: CALL_TIMEOUT_MS,
  };
  mkdirSync(env.BENCH_REGISTRY_DIR);
  const outFile = path.join(work, 'callgrind.out');
  const serverScript = path.join(here, 'server.js');
  const driverScript = path.join(here, 'instructions-driver.js');
  const [serverCmd, serverArgs] =
    side === 'server'
      ? underCallgrind(outFile, serverScript, [target])
      : [process.execPath, [serverScript, target]];
  const server = start(serverCmd, serverArgs, env);
  let driver: ReturnType<typeof start> | undefined;
  try {
    const [, address] = await server.line(/^ready (\S+)$/);
    const driverArgs = [target, address, String(concurrency)];
    const [driverCmd, args] =
      side === 'client'
        ? underCallgrind(outFile, driverScript, driverArgs)
        : [process.execPath, [driverScript, ...driverArgs]];
    driver = start(driverCmd, args, env);
    const measured = side === 'server' ? server.proc.pid! : driver.proc.pid!;
    await driver.progress(warmup);
    await callgrindControl('--instr=on', measured);
    await callgrindControl('--dump', measured);
    driver.proc.stdin.write('dumped\n');
    await driver.progress(driver.calls() + calls);
    await callgrindControl('--dump', measured);
    driver.proc.stdin.write('dumped\n');
    const [json] = await driver.line(/^\{.*\}$/);
    await driver.exited;
    const counted = (JSON.parse(json) as { calls: number }).calls;
    const { all, compiler } = dumped(outFile);
    const keep = process.env.BENCH_INSTR_KEEP;
    if (keep) {
      mkdirSync(keep, { recursive: true });
      copyFileSync(`${outFile}.2`, path.join(keep, `callgrind.${target}.${side}`));
    }
    return {
      instructionsPerCall: Math.round((all - compiler) / counted),
      compilerPerCall: Math.round(compiler / counted),
    };
  } finally {
    if (driver && driver.proc.exitCode === null) driver.proc.kill('SIGKILL');
    server.proc.stdin.end('quit\n');
    // A server under callgrind takes seconds to write its counts and exit; a stuck one is killed.
    const killer = setTimeout(() => server.proc.kill('SIGKILL'), 60_000);
    await server.exited;
    clearTimeout(killer);
    rmSync(work, { recursive: true, force: true });
  }
}

const results: ({ target: string; side: Side } & Count)[] = [];
for (const target of targets) {
  for (const side of sides) {
    const count = await measure(target, side);
    results.push({ target, side, ...count });
    process.stderr.write(
      `${target} ${side}: ${count.instructionsPerCall.toLocaleString('en-US')} instructions per call (+${count.compilerPerCall.toLocaleString('en-US')} in V8's optimizing compiler)\n`,
    );
  }
}

const k = (n: number | undefined): string => (n === undefined ? '' : `${(n / 1000).toFixed(0)} k`);
const of = (t: string, s: Side): number | undefined =>
  results.find((r) => r.target === t && r.side === s)?.instructionsPerCall;
console.log(
  `\nInstructions per call at ${concurrency} in flight (callgrind; ${warmup} calls of warm-up, ${calls} counted, V8's optimizing compiler left out; Node ${process.version})\n`,
);
console.log(`| target | ${sides.join(' | ')} |${sides.length > 1 ? ' both |' : ''}`);
console.log(`|---|${sides.map(() => '---:|').join('')}${sides.length > 1 ? '---:|' : ''}`);
for (const t of targets) {
  const each = sides.map((s) => of(t, s));
  const both = each.every((n) => n !== undefined) ? each.reduce((a, b) => a + b, 0) : undefined;
  console.log(`| ${t} | ${each.map(k).join(' | ')} |${sides.length > 1 ? ` ${k(both)} |` : ''}`);
}
const dir = process.env.BENCH_RESULTS_DIR ?? path.resolve(here, '../../bench/results');
mkdirSync(dir, { recursive: true });
const file = path.join(dir, `instructions-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
writeFileSync(
  file,
  `${JSON.stringify({ node: process.version, concurrency, warmup, calls, results }, null, 2)}\n`,
);
console.log(`\n${path.relative(process.cwd(), file)}`);
