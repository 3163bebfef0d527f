// The calling half of bench/instructions.ts: `concurrency` callers on `target` at `address`,
// calling without pause while the runner, over stdin and stdout, has callgrind count in
// whichever process it measures (the server, or this one):
//   driver → `done <n>` every PROGRESS_MS, the calls made so far;
//   runner, once n ≥ the warm-up: switches instrumentation on, has callgrind dump (a first dump,
//   thrown away) and sends `dumped`; the driver notes its count;
//   runner, once n has grown by the calls to count: has callgrind dump again, sends `dumped`;
//   driver → `{"calls": n}`, the calls made between the two `dumped`, and stops.
// callgrind takes a command only while its process runs, hence the calls go on throughout; the
// second dump holds what ran since the first, and both answers come equally late, so the count
// and the calls cover the same span. The loop itself never changes: a branch taken for the first
// time inside it once counting starts would have V8 deoptimize and compile it again within the
// counted span (seen: ~140 M instructions, as much as 3,000 calls). The runner, not this
// process, runs callgrind_control, so that spawning it is never counted (~130 M).
import { createInterface } from 'node:readline';
import { target } from './targets.js';

const [name, address, concurrencyArg] = process.argv.slice(2) as [string, string, string];
const concurrency = Number(concurrencyArg);
/** How often progress is printed: rarely enough to add nothing measurable to a call. */
const PROGRESS_MS = 500;

const client = await target(name).client(address);
let done = 0;
let stopped = false;
let first: number | undefined;
createInterface({ input: process.stdin }).on('line', (line) => {
  if (line.trim() !== 'dumped') return;
  if (first === undefined) {
    first = done;
  } else {
    console.log(JSON.stringify({ calls: done - first }));
    stopped = true;
  }
});
const progress = setInterval(() => console.log(`done ${done}`), PROGRESS_MS);

async function caller(): Promise<void> {
  while (!stopped) {
    await client.call();
    done++;
  }
}

await Promise.all(Array.from({ length: concurrency }, caller));
clearInterval(progress);
await Promise.race([client.close(), new Promise((r) => setTimeout(r, 2_000).unref())]);
process.exit(0);
