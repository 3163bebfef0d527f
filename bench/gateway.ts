// The HTTP gateway part of `npm run bench`: requests/s and latency through tsmicro's gateway
// (createGateway in front of a tsmicro service on the native transport), through moleculer-web
// (in front of a Moleculer service over its TCP transporter), and through a bare fastify route
// that answers from the body without any RPC (the floor). Gateway and service are separate
// processes (bench/gateway-process.ts); the load comes from autocannon in this process, the same
// JSON body and route for all. Results go into the bench's JSON under `gateway`.
//
// Environment: BENCH_GATEWAY (0 to skip), BENCH_GATEWAY_SECONDS (measured window per point,
// default 5, split over the rounds), BENCH_GATEWAY_ROUNDS (default 3: each point is measured in
// rounds that take the targets in turn), BENCH_GATEWAY_WARMUP_SECONDS (default 1),
// BENCH_GATEWAY_CONCURRENCY (HTTP connections, default "16,128"), BENCH_GATEWAY_TARGETS (comma
// list, default all).
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { startChild, type Child } from './child.js';
import { GATEWAY_PATH } from './gateway-process.js';
import { PAYLOAD } from './targets.js';

const here = path.dirname(fileURLToPath(import.meta.url));

/** The gateway targets: their processes, backend first. */
const TARGETS: Record<string, readonly string[]> = {
  'tsmicro-gateway': ['tsmicro-service', 'tsmicro-gateway'],
  'moleculer-web': ['moleculer-service', 'moleculer-web'],
  'fastify-floor': ['fastify-floor'],
};

/** One measured point. */
export interface GatewayPoint {
  target: string;
  connections: number;
  perSec?: number;
  p50ms?: number;
  p99ms?: number;
  requests?: number;
  errors?: number;
  non2xx?: number;
  error?: string;
}

export interface GatewayResults {
  /** Measured seconds per point, split over {@link GatewayResults.rounds}. */
  seconds: number;
  warmup: number;
  rounds: number;
  points: GatewayPoint[];
  ratios: Record<string, number | undefined>;
}

const list = (v: string | undefined, fallback: string): string[] =>
  (v ?? fallback).split(',').filter((s) => s !== '');

async function load(url: string, connections: number, seconds: number): Promise<autocannon.Result> {
  return autocannon({
    url,
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(PAYLOAD),
    connections,
    duration: seconds,
    // A request that takes this long counts as an error rather than stalling the point.
    timeout: 10,
  });
}

/** Starts `roles` in order, each given the address the one before printed; returns the last's. */
async function startProcesses(
  roles: readonly string[],
  children: Child[],
  registryDir: string,
  timeoutMs: number,
): Promise<string> {
  const env = { ...process.env, BENCH_REGISTRY_DIR: registryDir };
  let address: string | undefined;
  for (const role of roles) {
    const args = [path.join(here, 'gateway-process.js'), role, ...(address ? [address] : [])];
    const child = startChild(process.execPath, args, { env, timeoutMs });
    children.push(child);
    [, address] = await child.line(/^ready (\S+)$/);
  }
  return address!;
}

async function stop(children: Child[]): Promise<void> {
  for (const child of children.reverse()) {
    child.proc.stdin.end('quit\n');
    const killer = setTimeout(() => child.proc.kill('SIGKILL'), 3_000);
    await child.exited;
    clearTimeout(killer);
  }
}

/** Runs the gateway benchmark as the environment says; undefined when BENCH_GATEWAY=0. */
export async function runGateway(): Promise<GatewayResults | undefined> {
  if (process.env.BENCH_GATEWAY === '0') return undefined;
  const seconds = Number(process.env.BENCH_GATEWAY_SECONDS ?? '5');
  const warmup = Number(process.env.BENCH_GATEWAY_WARMUP_SECONDS ?? '1');
  const connections = list(process.env.BENCH_GATEWAY_CONCURRENCY, '16,128').map(Number);
  const targets = list(process.env.BENCH_GATEWAY_TARGETS, Object.keys(TARGETS).join(','));
  const rounds = Math.max(1, Number(process.env.BENCH_GATEWAY_ROUNDS ?? '3'));
  // Every target's processes run side by side from the start (an idle one costs nothing), and
  // the points are measured in rounds, each target in turn: the load of a shared machine drifts
  // over a run, and measuring one target after the other gave whichever came last a quieter
  // machine (one run saw moleculer-web's rate quadruple between the first target and the last).
  const started: { name: string; url?: string; error?: string; children: Child[]; dir: string }[] =
    [];
  const points: GatewayPoint[] = [];
  try {
    for (const name of targets) {
      const t = {
        name,
        children: [] as Child[],
        dir: mkdtempSync(path.join(os.tmpdir(), 'tsmicro-gwbench-')),
      };
      started.push(t);
      try {
        const address = await startProcesses(TARGETS[name], t.children, t.dir, 60_000);
        Object.assign(t, { url: `http://${address}${GATEWAY_PATH}` });
      } catch (err) {
        Object.assign(t, { error: (err as Error).message.split('\n')[0] });
      }
    }
    for (const c of connections) {
      const runs = new Map<string, autocannon.Result[]>();
      const failed = new Map<string, string>();
      for (const t of started)
        if (t.url && warmup > 0) await load(t.url, c, warmup).catch(() => undefined);
      for (let round = 0; round < rounds; round++) {
        for (const t of started) {
          if (t.url === undefined || failed.has(t.name)) continue;
          try {
            const r = await load(t.url, c, seconds / rounds);
            runs.set(t.name, [...(runs.get(t.name) ?? []), r]);
          } catch (err) {
            failed.set(t.name, (err as Error).message);
          }
        }
      }
      for (const t of started) {
        const error = t.error ?? failed.get(t.name);
        const rs = runs.get(t.name) ?? [];
        if (error !== undefined || rs.length === 0) {
          points.push({ target: t.name, connections: c, error: error ?? 'no rounds' });
          continue;
        }
        const requests = rs.reduce((n, r) => n + r.requests.total, 0);
        const secs = rs.reduce((n, r) => n + r.duration, 0);
        points.push({
          target: t.name,
          connections: c,
          perSec: requests / secs,
          // Per round: the mean of the medians, and the worst of the 99th percentiles.
          p50ms: rs.reduce((n, r) => n + r.latency.p50, 0) / rs.length,
          p99ms: Math.max(...rs.map((r) => r.latency.p99)),
          requests,
          errors: rs.reduce((n, r) => n + r.errors + r.timeouts, 0),
          non2xx: rs.reduce((n, r) => n + r.non2xx, 0),
        });
        process.stderr.write(
          `gateway ${t.name} c=${c}: ${points.at(-1)?.perSec?.toFixed(0)} req/s\n`,
        );
      }
    }
  } finally {
    for (const t of started) {
      await stop(t.children);
      rmSync(t.dir, { recursive: true, force: true });
    }
  }
  const at = (t: string, c: number): number | undefined =>
    points.find((p) => p.target === t && p.connections === c && p.error === undefined)?.perSec;
  const ratios: Record<string, number | undefined> = {};
  for (const c of connections) {
    const gw = at('tsmicro-gateway', c);
    const mw = at('moleculer-web', c);
    const floor = at('fastify-floor', c);
    ratios[`tsmicro-gateway/moleculer-web c=${c}`] = gw !== undefined && mw ? gw / mw : undefined;
    ratios[`tsmicro-gateway/fastify-floor c=${c}`] =
      gw !== undefined && floor ? gw / floor : undefined;
  }
  return { seconds, warmup, rounds, points, ratios };
}

const fmt = (n: number | undefined, digits = 0): string =>
  n === undefined
    ? 'n/a'
    : n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

/** The gateway results as Markdown tables. */
export function gatewayTables(r: GatewayResults): string {
  const lines = [
    `\nHTTP gateways, POST ${GATEWAY_PATH} with a ${JSON.stringify(PAYLOAD).length}-byte JSON body, autocannon, ${r.seconds} s per point in ${r.rounds} rounds taking the targets in turn, after ${r.warmup} s warm-up; gateway and service in separate processes\n`,
    '| target | connections | req/s | p50 ms | p99 ms | errors | non-2xx |',
    '|---|---:|---:|---:|---:|---:|---:|',
  ];
  for (const p of r.points)
    lines.push(
      p.error !== undefined
        ? `| ${p.target} | ${p.connections} | failed: ${p.error} | | | | |`
        : `| ${p.target} | ${p.connections} | ${fmt(p.perSec)} | ${fmt(p.p50ms, 1)} | ${fmt(p.p99ms, 1)} | ${p.errors} | ${p.non2xx} |`,
    );
  lines.push('\n| ratio (within this run) | value | target |', '|---|---:|---:|');
  for (const [k, v] of Object.entries(r.ratios))
    lines.push(`| ${k} | ${fmt(v, 2)} | ${k.includes('moleculer') ? '≥ 1.5' : '≥ 0.5'} |`);
  return lines.join('\n');
}

// Run alone: `node .build/bench/gateway.js` prints the tables and the JSON.
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const r = await runGateway();
  if (r) {
    console.log(gatewayTables(r));
    console.log(JSON.stringify(r));
  }
}
