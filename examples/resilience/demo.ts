// `node demo.js`: three `inventory` nodes in separate processes, a client calling them at a
// steady pace, and one node killed (SIGKILL) mid-load. The calls are idempotent, so the few
// caught on the dead node are retried on another; the selector ejects the node after repeated
// connection faults, and least-request balancing keeps the load on the fastest nodes.
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { createService, localRegistry, registrySelector, type CallWrapper } from 'tsmicro';

const serverJs = fileURLToPath(new URL('./server.js', import.meta.url));
const env = { ...process.env, TSMICRO_LOG_LEVEL: process.env.TSMICRO_LOG_LEVEL ?? 'error' };

function startNode(): Promise<{ child: ChildProcess; id: string }> {
  const child = spawn(process.execPath, [serverJs], { env, stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error('inventory node did not start within 15 s')),
      15_000,
    );
    createInterface({ input: child.stdout }).once('line', (line) => {
      clearTimeout(timer);
      resolve({ child, id: line.split(' ')[1] });
    });
  });
}

const nodes = await Promise.all([startNode(), startNode(), startNode()]);
const registry = localRegistry();
const selector = registrySelector({ registry, strategy: 'leastRequest' });
// A call wrapper sees every attempt: here it counts them per node.
const attempts = new Map<string, number>();
const countAttempts: CallWrapper = (next) => (ctx, node, req, opts) => {
  attempts.set(node.id, (attempts.get(node.id) ?? 0) + 1);
  return next(ctx, node, req, opts);
};
const shop = createService({ name: 'shop', registry, selector, wrapCall: [countAttempts] });
const client = shop.client;

let ok = 0;
let failed = 0;
const victim = nodes[0];
setTimeout(() => {
  console.log(`killing ${victim.id}`);
  victim.child.kill('SIGKILL');
}, 1_000).unref();
const end = Date.now() + 3_000;
await Promise.all(
  Array.from({ length: 4 }, async () => {
    while (Date.now() < end) {
      try {
        await client.call(
          'inventory',
          'Stock.Get',
          { sku: 'tea' },
          { idempotent: true, timeoutMs: 2_000 },
        );
        ok++;
      } catch {
        failed++;
      }
    }
  }),
);

console.log(`calls ${ok + failed}: ok ${ok}, failed ${failed}`);
for (const stat of selector.stats!('inventory')) {
  console.log(
    `${stat.id}: ${attempts.get(stat.id) ?? 0} attempts${stat.ejected ? ', ejected' : ''}`,
  );
}
const dead = selector.stats!('inventory').find((s) => s.id === victim.id);
console.log(dead ? `${victim.id} ejected: ${dead.ejected}` : `${victim.id} gone from the registry`);
for (const n of nodes) n.child.kill('SIGTERM');
await shop.stop();
await selector.close();
await registry.close();
