// One stream benchmark server process: starts the target's server half, prints
// `ready <address>`, then answers stdin commands from the runner: `mark` starts a CPU window,
// `report` prints its CPU use as `cpu <µs>`, `mem` prints the process's
// memory after a full GC as `mem <heap + external bytes>`, `quit` (or stdin closing) stops it.
// Started with --expose-gc.
import { createInterface } from 'node:readline';
import { streamTarget } from './stream-targets.js';
import { gcMemory } from './stream-memory.js';

const server = await streamTarget(process.argv[2]).server();
console.log(`ready ${server.address}`);
let mark = process.cpuUsage();
for await (const line of createInterface({ input: process.stdin })) {
  if (line === 'mark') mark = process.cpuUsage();
  else if (line === 'report') {
    const u = process.cpuUsage(mark);
    console.log(`cpu ${u.user + u.system}`);
  } else if (line === 'mem') console.log(`mem ${gcMemory()}`);
  else if (line === 'quit') break;
}
await Promise.race([server.close(), new Promise((r) => setTimeout(r, 2_000).unref())]);
process.exit(0);
