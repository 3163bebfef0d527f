// A deadline and metadata across two hops: `node main.js`. `front` calls `back` from inside its
// handler, and `back` reports how much of the caller's 800 ms budget it got and which tenant.
//
// - `front` (the default) passes both on by itself: calls made inside a handler inherit its
//   context through AsyncLocalStorage.
// - `front-explicit` runs with `implicitContext: false`: a call inherits the handler's context
//   only when given `{ ctx }`, as go-micro code passes its ctx. That keeps Node's async hooks
//   off in a process that serves calls (see the README's Speed section).
import { createService, memoryRegistry, type Service } from 'tsmicro';

interface Seen {
  leftMs: number;
  tenant: string;
}
const registry = memoryRegistry();
const base = { registry, drainDelayMs: 0 };

const back = createService({ name: 'back', ...base });
back.handle('Back', {
  Inspect: (_req: unknown, ctx): Seen => ({
    leftMs: Math.round(ctx.deadline - Date.now()),
    tenant: ctx.metadata.tenant ?? '(none)',
  }),
});

const front = createService({ name: 'front', ...base });
front.handle('Front', {
  // No ctx passed: the call inherits the deadline and the metadata anyway.
  Relay: () => front.client.call<Seen>('back', 'Back.Inspect', {}),
});

const explicit = createService({ name: 'front-explicit', implicitContext: false, ...base });
explicit.handle('Front', {
  Relay: (_req: unknown, ctx) => explicit.client.call<Seen>('back', 'Back.Inspect', {}, { ctx }),
  // Forgetting ctx here means a fresh budget (the 5 s default) and none of the caller's metadata.
  RelayWithoutCtx: () => explicit.client.call<Seen>('back', 'Back.Inspect', {}),
});

const caller = createService({ name: 'caller', ...base });
const services: Service[] = [back, front, explicit, caller];
try {
  for (const s of services) await s.start();
  for (const [service, endpoint] of [
    ['front', 'Front.Relay'],
    ['front-explicit', 'Front.Relay'],
    ['front-explicit', 'Front.RelayWithoutCtx'],
  ] as const) {
    const seen = await caller.client.call<Seen>(
      service,
      endpoint,
      {},
      { timeoutMs: 800, metadata: { tenant: 'acme' } },
    );
    console.log(`${service} ${endpoint}: back had ${seen.leftMs} ms left, tenant ${seen.tenant}`);
  }
} finally {
  for (const s of services.reverse()) await s.stop();
}
