// Tail latency with hedged requests and adaptive attempt timeouts ("The Tail at Scale"): three
// nodes of a service, one of which stalls 200 ms on 5 % of its calls (bench/tail-servers.ts, in
// a child process); the client here calls them BENCH_TAIL_IN_FLIGHT at a time, in four modes,
// each with a fresh client: no hedging, hedging after a fixed 10 ms, hedging at the endpoint's
// p95, and adaptive attempt timeouts (2 × p95, floor 20 ms). Per mode, BENCH_TAIL_WARMUP calls
// fill the latency window, then BENCH_TAIL_CALLS are measured: p50, p99, p99.9 and the extra
// attempts sent (hedges and retries, % of calls). Prints one JSON line.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import {
  createService,
  localRegistry,
  registrySelector,
  type CallOptions,
  type CallWrapper,
} from '../src/index.js';
import { startChild } from './child.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const calls = Number(process.env.BENCH_TAIL_CALLS ?? '5000');
const warmup = Number(process.env.BENCH_TAIL_WARMUP ?? '1500');
const inFlight = Number(process.env.BENCH_TAIL_IN_FLIGHT ?? '4');

export interface TailResult {
  mode: string;
  calls: number;
  errors: number;
  p50ms: number;
  p99ms: number;
  p999ms: number;
  /** Attempts beyond one per call, % of calls. */
  extraAttemptsPct: number;
  firstError?: string;
}

const MODES: Record<string, CallOptions> = {
  'no hedging': { idempotent: true },
  'hedge after 10 ms': { idempotent: true, hedge: { delayMs: 10 } },
  'hedge at p95': { idempotent: true, hedge: { delayMs: 'p95' } },
  'adaptive attempt timeout (2 × p95, ≥ 20 ms)': {
    idempotent: true,
    adaptiveAttemptTimeout: { percentile: 'p95' },
  },
};

function quantile(sorted: Float64Array, q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}

const registryDir = mkdtempSync(path.join(os.tmpdir(), 'tsmicro-bench-tail-'));
const servers = startChild(process.execPath, [path.join(here, 'tail-servers.js')], {
  env: { ...process.env, BENCH_REGISTRY_DIR: registryDir },
  timeoutMs: 60_000,
});
const results: TailResult[] = [];
try {
  await servers.line(/^ready$/);
  for (const [mode, options] of Object.entries(MODES)) {
    let attempts = 0;
    const count: CallWrapper = (next) => (ctx, node, req, o) => {
      attempts++;
      return next(ctx, node, req, o);
    };
    const registry = localRegistry({ dir: registryDir });
    const selector = registrySelector({ registry });
    const client = createService({
      name: 'tail-client',
      registry,
      selector,
      wrapCall: [count],
      logger: pino({ level: 'silent' }),
    });
    const latencies = new Float64Array(calls);
    let errors = 0;
    let firstError: string | undefined;
    const run = async (total: number, record: boolean): Promise<void> => {
      let started = 0;
      const worker = async (): Promise<void> => {
        while (started < total) {
          const n = started++;
          const t0 = performance.now();
          try {
            await client.client.call('tail', 'Tail.Get', { n }, options);
          } catch (err) {
            if (record) errors++;
            if (record) firstError ??= String(err);
          }
          if (record) latencies[n] = performance.now() - t0;
        }
      };
      await Promise.all(Array.from({ length: inFlight }, worker));
    };
    await run(warmup, false);
    attempts = 0;
    await run(calls, true);
    const sorted = latencies.slice().sort();
    results.push({
      mode,
      calls,
      errors,
      p50ms: quantile(sorted, 0.5),
      p99ms: quantile(sorted, 0.99),
      p999ms: quantile(sorted, 0.999),
      extraAttemptsPct: ((attempts - calls) / calls) * 100,
      ...(firstError === undefined ? {} : { firstError }),
    });
    await client.stop();
    await selector.close();
    await registry.close();
  }
} finally {
  servers.proc.stdin.end('quit\n');
  await Promise.race([servers.exited, new Promise((r) => setTimeout(r, 3_000).unref())]);
  servers.proc.kill('SIGKILL');
  rmSync(registryDir, { recursive: true, force: true });
}
console.log(JSON.stringify({ inFlight, warmup, results }));
process.exit(0);
