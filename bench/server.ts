// One benchmark server process: starts the target's server half, prints `ready <address>`, then
// answers stdin commands from the runner: `mark` starts a CPU window, `report` prints its CPU
// use as `cpu <µs>`, `quit` (or stdin closing) stops it.
import { createInterface } from 'node:readline';
import { target } from './targets.js';

const name = process.argv[2];
const server = await target(name).server();
let mark = process.cpuUsage();
console.log(`ready ${server.address}`);
const lines = createInterface({ input: process.stdin });
for await (const line of lines) {
  if (line === 'mark') mark = process.cpuUsage();
  else if (line === 'report') {
    const u = process.cpuUsage(mark);
    console.log(`cpu ${u.user + u.system}`);
  } else if (line === 'quit') break;
}
await Promise.race([server.close(), new Promise((r) => setTimeout(r, 2_000).unref())]);
process.exit(0);
