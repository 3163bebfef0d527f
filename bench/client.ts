// One benchmark client process: `concurrency` callers loop on the target for the warm-up, print
// `measuring`, loop for the measured window, print `done`, then one JSON line with the result.
// Each loop is bounded by time and by a call count.
import { createHistogram } from 'node:perf_hooks';
import { target } from './targets.js';

const [name, address, concurrencyArg, warmupArg, secondsArg] = process.argv.slice(2) as [
  string,
  string,
  string,
  string,
  string,
];
const concurrency = Number(concurrencyArg);
const MAX_CALLS = 50_000_000;

const client = await target(name).client(address);
let errors = 0;
let firstError: string | undefined;

async function loop(
  until: number,
  histogram?: ReturnType<typeof createHistogram>,
): Promise<number> {
  let calls = 0;
  while (Date.now() < until && calls < MAX_CALLS) {
    const t0 = process.hrtime.bigint();
    try {
      await client.call();
    } catch (err) {
      errors++;
      firstError ??= String(err);
      if (errors > 1000) break;
    }
    histogram?.record(Number(process.hrtime.bigint() - t0) || 1);
    calls++;
  }
  return calls;
}

async function run(ms: number, histogram?: ReturnType<typeof createHistogram>): Promise<number> {
  const until = Date.now() + ms;
  const counts = await Promise.all(
    Array.from({ length: concurrency }, () => loop(until, histogram)),
  );
  return counts.reduce((a, b) => a + b, 0);
}

await run(Number(warmupArg) * 1000);
errors = 0;
firstError = undefined;
const histogram = createHistogram();
console.log('measuring');
const cpu0 = process.cpuUsage();
const t0 = process.hrtime.bigint();
const calls = await run(Number(secondsArg) * 1000, histogram);
const elapsedNs = Number(process.hrtime.bigint() - t0);
const cpu = process.cpuUsage(cpu0);
console.log('done');
console.log(
  JSON.stringify({
    calls,
    errors,
    firstError,
    elapsedMs: elapsedNs / 1e6,
    perSec: calls / (elapsedNs / 1e9),
    p50us: histogram.percentile(50) / 1000,
    p99us: histogram.percentile(99) / 1000,
    clientCpuMs: (cpu.user + cpu.system) / 1000,
  }),
);
await Promise.race([client.close(), new Promise((r) => setTimeout(r, 2_000).unref())]);
process.exit(0);
