// Health that Kubernetes and callers can trust: `node main.js`. One service with a critical
// check (its "database") and the HTTP probe port; the database goes down and comes back, and the
// probe, the registry entry and a caller each see it. One process, the embedded defaults.
import { createService, localRegistry } from 'tsmicro';

let databaseUp = true;
const registry = localRegistry();
const service = createService({
  name: 'inventory',
  registry,
  handleSignals: false,
  health: {
    httpAddress: '127.0.0.1:0',
    checks: [
      {
        name: 'database',
        critical: true,
        intervalMs: 100,
        check: () => {
          if (!databaseUp) throw new Error('database unreachable');
        },
      },
    ],
  },
});
service.handle('Inventory', { Count: () => ({ items: 3 }) });
await service.start();

const probe = async (): Promise<string> => {
  const res = await fetch(`http://${service.health.httpAddress}/health/ready`);
  return `${res.status} ${await res.text()}`;
};
const listed = async (): Promise<boolean> =>
  (await registry.getService('inventory')).some((s) => s.nodes.length > 0);
/** Polls `ok` every 50 ms for at most 10 s: the check runs on its own interval. */
const until = async (ok: () => Promise<boolean>): Promise<void> => {
  for (let i = 0; i < 200 && !(await ok()); i++) await new Promise((r) => setTimeout(r, 50));
};

console.log(`ready: ${await probe()}; in the registry: ${await listed()}`);
databaseUp = false;
await until(async () => !(await listed()));
console.log(`database down: ${await probe()}; in the registry: ${await listed()}`);
databaseUp = true;
await until(listed);
console.log(`database back: ${await probe()}; in the registry: ${await listed()}`);
const { items } = await service.client.call<{ items: number }>('inventory', 'Inventory.Count', {});
console.log(`a caller counts ${items} items`);
await service.stop();
await registry.close();
