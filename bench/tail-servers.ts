// The servers of the tail-latency benchmark (bench/tail.ts): three nodes of service `tail` in
// this one process, on the local registry in BENCH_REGISTRY_DIR. Node 3 stalls 200 ms on 5 % of
// its calls (chosen at random); the others answer at once. A stall is a timer, so the nodes
// sharing a process do not slow each other. Prints `ready`, quits when stdin closes or says
// `quit`.
import { createInterface } from 'node:readline';
import { pino } from 'pino';
import { createService, localRegistry, type HandlerContext, type Service } from '../src/index.js';

export const STALL_MS = 200;
export const STALL_SHARE = 0.05;

const registry = localRegistry({ dir: process.env.BENCH_REGISTRY_DIR! });
const services: Service[] = [];
for (let i = 1; i <= 3; i++) {
  const stalls = i === 3;
  const service = createService({
    name: 'tail',
    registry,
    logger: pino({ level: 'silent' }),
    drainDelayMs: 0,
  });
  service.handle('Tail', {
    async Get(req: { n: number }, ctx: HandlerContext) {
      if (stalls && Math.random() < STALL_SHARE) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, STALL_MS);
          // A hedge that won cancels this attempt: the stall ends with it, as real work would.
          ctx.signal.addEventListener('abort', () => {
            clearTimeout(timer);
            resolve();
          });
        });
      }
      return { n: req.n };
    },
  });
  await service.start();
  services.push(service);
}
console.log('ready');
for await (const line of createInterface({ input: process.stdin })) if (line === 'quit') break;
await Promise.race([
  Promise.all(services.map((s) => s.stop())),
  new Promise((r) => setTimeout(r, 2_000).unref()),
]);
process.exit(0);
