// The paired latency measurement: one client process holds a client of each target (whose
// servers run in their own processes) and calls them in turn, a block of calls at a time, for
// the whole window. A shared machine's slow spells, which move a target's p50 at 1 in flight by
// more than the differences measured here, then fall on every target alike. Blocks rather than
// single calls keep each target's processes warm: calling each target once per turn measures
// processes woken cold, which inflates every difference by the size of the code path. The
// first calls of a block are not recorded.
//
// Args: <seconds> <warm-up seconds> <target>=<address>... Prints one JSON line:
// `{ "<target>": { calls, errors, p50us, p99us }, ... }`. Bounded by time and by a call count.
import { createHistogram, type RecordableHistogram } from 'node:perf_hooks';
import { target, type ClientHalf } from './targets.js';

const [secondsArg, warmupArg, ...pairs] = process.argv.slice(2) as [string, string, ...string[]];
const MAX_ROUNDS = 10_000_000;
/** Calls per target per turn: ~50–100 ms at 1 in flight, short beside the machine's slow spells. */
const BLOCK = 200;
/** Calls at the start of each block left unrecorded while the target's processes wake up. */
const BLOCK_LEAD_IN = 10;

interface Measured {
  name: string;
  client: ClientHalf;
  histogram: RecordableHistogram;
  calls: number;
  errors: number;
}

const measured: Measured[] = [];
for (const pair of pairs) {
  const [name, address] = pair.split('=') as [string, string];
  measured.push({
    name,
    client: await target(name).client(address),
    histogram: createHistogram(),
    calls: 0,
    errors: 0,
  });
}

/** One call to `m`, timed into its histogram when `record` is set. */
async function once(m: Measured, record: boolean): Promise<void> {
  const t0 = process.hrtime.bigint();
  try {
    await m.client.call();
  } catch {
    if (record) m.errors++;
  }
  if (!record) return;
  m.histogram.record(Number(process.hrtime.bigint() - t0) || 1);
  m.calls++;
}

async function rounds(ms: number, record: boolean): Promise<void> {
  const until = Date.now() + ms;
  // Each round starts one target later, so no target always follows the same one.
  for (let round = 0; Date.now() < until && round < MAX_ROUNDS; round++) {
    for (let i = 0; i < measured.length; i++) {
      const m = measured[(round + i) % measured.length];
      for (let n = 0; n < BLOCK; n++) await once(m, record && n >= BLOCK_LEAD_IN);
    }
  }
}

await rounds(Number(warmupArg) * 1000, false);
await rounds(Number(secondsArg) * 1000, true);
console.log(
  JSON.stringify(
    Object.fromEntries(
      measured.map((m) => [
        m.name,
        {
          calls: m.calls,
          errors: m.errors,
          p50us: m.calls > 0 ? m.histogram.percentile(50) / 1000 : 0,
          p99us: m.calls > 0 ? m.histogram.percentile(99) / 1000 : 0,
        },
      ]),
    ),
  ),
);
await Promise.race([
  Promise.all(measured.map((m) => m.client.close())),
  new Promise((r) => setTimeout(r, 2_000).unref()),
]);
process.exit(0);
