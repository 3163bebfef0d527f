// Hedged requests: `node main.js`. Two nodes of `catalog`; one hangs on every call. A caller that
// hedges its idempotent calls sends a second copy to the other node after 50 ms, takes the first
// answer and cancels the other (the hung handler sees its signal abort). Without hedging, every
// call that lands on the hung node waits out its whole budget.
import { createService, localRegistry, MicroError, registrySelector } from 'tsmicro';

const registry = localRegistry();
const common = { registry, handleSignals: false } as const;
let cancelled = 0;

const healthy = createService({ name: 'catalog', ...common });
healthy.handle('Catalog', { Get: () => ({ from: 'healthy' }) });
const hung = createService({ name: 'catalog', ...common });
hung.handle('Catalog', {
  // Never answers by itself; ends when the caller gives up on it.
  Get: (_req: unknown, ctx) =>
    new Promise((_resolve, reject) =>
      ctx.signal.addEventListener('abort', () => {
        cancelled++;
        reject(MicroError.timeout('catalog', 'cancelled'));
      }),
    ),
});
await Promise.all([healthy.start(), hung.start()]);

let hedges = 0;
const caller = createService({
  name: 'shop',
  ...common,
  // Round robin alternates the two nodes, so first attempts keep landing on the hung one.
  selector: registrySelector({ registry, strategy: 'roundRobin' }),
  onHedge: (e) => void (e.kind === 'sent' && hedges++),
  // Most of these calls need a hedge. The default cap (5 % of calls + 1/s) stops hedging long
  // before that, as it should when a node is simply broken (ejection is the cure for that); here
  // it is raised so the demo shows every hedge.
  hedgeBudget: { ratio: 0.6 },
});

const CALLS = 20;
let fromHealthy = 0;
for (let i = 0; i < CALLS; i++) {
  const { from } = await caller.client.call<{ from: string }>(
    'catalog',
    'Catalog.Get',
    {},
    { idempotent: true, hedge: { delayMs: 50 }, timeoutMs: 10_000, retries: 0 },
  );
  if (from === 'healthy') fromHealthy++;
}
console.log(`${fromHealthy} of ${CALLS} calls answered, all by the healthy node`);
console.log(`hedges sent: ${hedges}; hung handlers cancelled: ${cancelled}`);

await caller.stop();
await Promise.all([healthy.stop(), hung.stop()]);
await registry.close();
