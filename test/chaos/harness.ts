import { appendFileSync } from 'node:fs';
import { MicroError, type Service } from '../../src/index.js';
import { startFixture, type Fixture } from '../helpers/processes.js';

/**
 * Shared pieces of the chaos scenarios: chaos-node processes, a steady mixed load (calls, streams,
 * publishes) that records every operation, and the numbers each scenario reports — success rate,
 * p99 latency during the fault, and time to recover. Every load is bounded in count and time.
 */

/** How much longer than the short (`npm test`) version a scenario runs: CHAOS_SCALE, 1–100. */
export const SCALE = Math.min(100, Math.max(1, Number(process.env.CHAOS_SCALE ?? 1) || 1));

/** A started chaos-node process. */
export interface Node {
  fixture: Fixture;
  id: string;
  address: string;
}

/** Starts `chaos-node <version>` with `env` and waits for its `ready` line. */
export async function startNode(version: string, env: Record<string, string>): Promise<Node> {
  const fixture = startFixture('chaos-node', [version], { TSMICRO_LOG_LEVEL: 'error', ...env });
  const m = await fixture.waitForLine(/^ready (\S+) (\S+)$/, 30_000);
  return { fixture, id: m[1], address: m[2] };
}

/** One operation of the load. */
export interface Op {
  kind: 'call' | 'stream' | 'publish';
  start: number;
  end: number;
  ok: boolean;
  /** The MicroError code of a failure (0 for anything else, which the scenarios treat as a bug). */
  code?: number;
}

/** What the load does and how long. */
export interface LoadOptions {
  durationMs: number;
  maxOps: number;
  /** Keeps the load going past `durationMs` until this settles (bounded by its own caller). */
  until?: Promise<unknown>;
  concurrency: number;
  /** Every n-th op is a stream of three messages (0 = none). */
  streamEvery: number;
  /** Every n-th op is a durable publish (0 = none); `onAcked` gets each acknowledged id. */
  publishEvery: number;
  onAcked?: (id: number) => void;
  /** Calls are marked idempotent (retried after timeouts and resets too). */
  idempotent: boolean;
  /** Per-attempt limit of calls, ms (0 = the budget alone). */
  attemptTimeoutMs: number;
  /** Budget per call, ms. */
  timeoutMs: number;
  /**
   * Where each op goes instead of the returned array (a long load must not keep them all: that
   * would be the test's own memory growing, and the churn check measures the heap).
   */
  sink?: (op: Op) => void;
}

/**
 * Runs the mixed load from `client` until the time or the op count is used up; returns the ops
 * (none with a sink).
 */
export async function mixedLoad(client: Service, o: LoadOptions): Promise<Op[]> {
  const ops: Op[] = [];
  const record =
    o.sink ??
    ((op: Op) => {
      ops.push(op);
    });
  const end = Date.now() + o.durationMs;
  let done = o.until === undefined;
  void o.until?.finally(() => {
    done = true;
  });
  let n = 0;
  const one = async (i: number): Promise<void> => {
    const kind: Op['kind'] =
      o.publishEvery > 0 && i % o.publishEvery === 0
        ? 'publish'
        : o.streamEvery > 0 && i % o.streamEvery === 1
          ? 'stream'
          : 'call';
    const start = Date.now();
    try {
      if (kind === 'publish') {
        await client.client.publish('chaos.events', { id: i });
        o.onAcked?.(i);
      } else if (kind === 'stream') {
        await streamOnce(client, i);
      } else {
        await client.client.call(
          'chaos',
          'Echo.Call',
          { n: i },
          {
            idempotent: o.idempotent,
            timeoutMs: o.timeoutMs,
            attemptTimeoutMs: o.attemptTimeoutMs,
            retries: 3,
          },
        );
      }
      record({ kind, start, end: Date.now(), ok: true });
    } catch (err) {
      record({ kind, start, end: Date.now(), ok: false, code: MicroError.is(err) ? err.code : 0 });
    }
  };
  const worker = async (): Promise<void> => {
    while ((Date.now() < end || !done) && n < o.maxOps) await one(n++);
  };
  await Promise.all(Array.from({ length: o.concurrency }, worker));
  return ops;
}

async function streamOnce(client: Service, i: number): Promise<void> {
  const stream = await client.client.stream<{ i: number; k: number }, { i: number; k: number }>(
    'chaos',
    'Echo.Stream',
    { timeoutMs: 5_000 },
  );
  const got: number[] = [];
  const reading = (async () => {
    for await (const m of stream) got.push(m.k);
  })();
  for (let k = 0; k < 3; k++) await stream.send({ i, k });
  stream.closeSend();
  await reading;
  if (got.join() !== '0,1,2') throw new Error(`stream ${i} echoed ${got.join()}`);
}

/** The numbers one scenario reports, per kind of operation. */
export interface Report {
  scenario: string;
  kind: Op['kind'];
  total: number;
  ok: number;
  successPct: number;
  /** p99 latency of the ops started while the fault lasted, ms. */
  p99DuringFaultMs: number;
  /** The slowest of those, ms. */
  maxDuringFaultMs: number;
  /** From the fault to the end of the last failed op (0 when none failed), ms. */
  recoverMs: number;
  /** Failure codes and how often. */
  codes: Record<string, number>;
}

/** Sums up `ops` of each kind for a fault injected at `faultAt` and lifted at `faultEnd`. */
export function report(
  scenario: string,
  ops: readonly Op[],
  faultAt: number,
  faultEnd: number,
): Report[] {
  const out: Report[] = [];
  for (const kind of ['call', 'stream', 'publish'] as const) {
    const mine = ops.filter((o) => o.kind === kind);
    if (mine.length === 0) continue;
    const failed = mine.filter((o) => !o.ok);
    const lastFailure = failed.reduce((m, o) => Math.max(m, o.end), 0);
    const windowEnd = Math.max(faultEnd, lastFailure, faultAt + 1_000);
    const during = mine
      .filter((o) => o.start >= faultAt && o.start <= windowEnd)
      .map((o) => o.end - o.start)
      .sort((a, b) => a - b);
    const codes: Record<string, number> = {};
    for (const f of failed) codes[String(f.code)] = (codes[String(f.code)] ?? 0) + 1;
    out.push({
      scenario,
      kind,
      total: mine.length,
      ok: mine.length - failed.length,
      successPct: Number((((mine.length - failed.length) / mine.length) * 100).toFixed(3)),
      p99DuringFaultMs: during.length
        ? Math.round(during[Math.min(during.length - 1, Math.floor(during.length * 0.99))])
        : 0,
      maxDuringFaultMs: during.length ? Math.round(during[during.length - 1]) : 0,
      recoverMs: failed.length ? Math.max(0, Math.round(lastFailure - faultAt)) : 0,
      codes,
    });
  }
  // CHAOS_REPORT collects the numbers of a run in one file (JSON lines).
  if (process.env.CHAOS_REPORT)
    for (const r of out) appendFileSync(process.env.CHAOS_REPORT, `${JSON.stringify(r)}\n`);
  return out;
}

/**
 * A bounded summary of a long load: counts, every failure, and a uniform sample of at most
 * `size` successful ops per kind (reservoir sampling) for the latency percentiles.
 */
export class Tally {
  private readonly totals = new Map<Op['kind'], number>();
  private readonly kept: Op[] = [];
  private readonly samples = new Map<Op['kind'], Op[]>();
  private readonly okSeen = new Map<Op['kind'], number>();

  constructor(private readonly size = 5_000) {}

  readonly add = (op: Op): void => {
    this.totals.set(op.kind, (this.totals.get(op.kind) ?? 0) + 1);
    if (!op.ok) {
      this.kept.push(op);
      return;
    }
    const seen = (this.okSeen.get(op.kind) ?? 0) + 1;
    this.okSeen.set(op.kind, seen);
    const sample = this.samples.get(op.kind) ?? [];
    this.samples.set(op.kind, sample);
    if (sample.length < this.size) sample.push(op);
    else {
      const j = Math.floor(Math.random() * seen);
      if (j < this.size) sample[j] = op;
    }
  };

  /**
   * Reports as {@link report} would for all ops (success counts exact, latencies from the sample).
   */
  report(scenario: string, faultAt: number, faultEnd: number): Report[] {
    const sampled = [...this.kept, ...[...this.samples.values()].flat()];
    return report(scenario, sampled, faultAt, faultEnd).map((r) => {
      const total = this.totals.get(r.kind) ?? 0;
      const failed = r.total - r.ok;
      return {
        ...r,
        total,
        ok: total - failed,
        successPct: Number((((total - failed) / total) * 100).toFixed(3)),
      };
    });
  }
}

/** One line per report, for t.diagnostic. */
export function describeReport(r: Report): string {
  return `${r.scenario} ${r.kind}: ${r.ok}/${r.total} ok (${r.successPct} %), p99 during fault ${r.p99DuringFaultMs} ms (max ${r.maxDuringFaultMs}), recovered after ${r.recoverMs} ms${Object.keys(r.codes).length ? `, failures ${JSON.stringify(r.codes)}` : ''}`;
}

/** Resolves after `ms`. */
export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Waits (bounded) until `check` holds. */
export async function eventually(
  check: () => boolean | Promise<boolean>,
  timeoutMs: number,
  what: string,
): Promise<number> {
  const start = Date.now();
  while (!(await check())) {
    if (Date.now() - start > timeoutMs)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(50);
  }
  return Date.now() - start;
}
