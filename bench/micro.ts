// In-process measurements: selector pick rate and registry watch update cost with 1,000 nodes,
// memory per idle connection, and createService to first served call. Prints one JSON line.
// Run with --expose-gc so heap deltas are measured after a collection.
import { pino } from 'pino';
import {
  createService,
  memoryRegistry,
  registrySelector,
  type Node,
  type Transport,
} from '../src/index.js';
import { grpcTransport } from '../src/transport/grpc/grpc.js';
import { nativeTransport } from '../src/transport/native/native.js';
import { PAYLOAD } from './targets.js';

const NODES = 1_000;
const seconds = Math.max(0.05, Number(process.env.BENCH_MICRO_SECONDS ?? '1'));
const gc = (globalThis as { gc?: () => void }).gc ?? (() => {});

function nodes(n: number, extra?: string): Node[] {
  const out: Node[] = [];
  for (let i = 0; i < n; i++)
    out.push({ id: `svc-${i}`, address: `10.0.${i >> 8}.${i & 255}:8080`, metadata: {} });
  if (extra) out[n - 1] = { id: extra, address: '10.9.9.9:8080', metadata: {} };
  return out;
}

/**
 * Picks per second from a selector over 1,000 nodes: `next()` alone, and select+next+mark (what a
 * call does).
 */
async function selectorPicks(): Promise<{ pickPerSec: number; selectPickMarkPerSec: number }> {
  const registry = memoryRegistry();
  await registry.register({
    name: 'svc',
    version: '1',
    metadata: {},
    endpoints: [],
    nodes: nodes(NODES),
  });
  const selector = registrySelector({ registry });
  const next = await selector.select('svc');
  let picks = 0;
  let end = Date.now() + seconds * 1000;
  let t0 = process.hrtime.bigint();
  while (Date.now() < end && picks < 1e9) {
    for (let i = 0; i < 10_000; i++) next();
    picks += 10_000;
  }
  const pickPerSec = picks / (Number(process.hrtime.bigint() - t0) / 1e9);
  let full = 0;
  end = Date.now() + seconds * 1000;
  t0 = process.hrtime.bigint();
  while (Date.now() < end && full < 1e9) {
    for (let i = 0; i < 1_000; i++) {
      const n = (await selector.select('svc'))();
      selector.mark('svc', n, undefined, 0.1);
    }
    full += 1_000;
  }
  const selectPickMarkPerSec = full / (Number(process.hrtime.bigint() - t0) / 1e9);
  await selector.close();
  await registry.close();
  return { pickPerSec, selectPickMarkPerSec };
}

/**
 * Time from a registry update of a 1,000-node service to the selector serving it (memory registry:
 * the watch and cache cost alone).
 */
async function watchUpdate(): Promise<{ updateMs: number; updateCpuMs: number; updates: number }> {
  const registry = memoryRegistry();
  await registry.register({
    name: 'svc',
    version: '1',
    metadata: {},
    endpoints: [],
    nodes: nodes(NODES),
  });
  const selector = registrySelector({ registry });
  await selector.select('svc');
  const updates = 100;
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  for (let u = 0; u < updates; u++) {
    const id = `changed-${u}`;
    await registry.register({
      name: 'svc',
      version: '1',
      metadata: {},
      endpoints: [],
      nodes: nodes(NODES, id),
    });
    const deadline = Date.now() + 5_000;
    // stats() reports the nodes of the last select(), so select() is what sees the cache change.
    while ((await selector.select('svc')) && !selector.stats?.('svc').some((s) => s.id === id)) {
      if (Date.now() > deadline) throw new Error('the selector never saw the update');
      await new Promise((r) => setImmediate(r));
    }
  }
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  const cpu = process.cpuUsage(cpu0);
  await selector.close();
  await registry.close();
  return { updateMs: ms / updates, updateCpuMs: (cpu.user + cpu.system) / 1000 / updates, updates };
}

/** Heap + external bytes per idle connection (client and server ends, both in this process). */
async function idleConnectionBytes(make: () => Transport, count: number): Promise<number> {
  const server = make();
  const listener = await server.listen('127.0.0.1:0', {
    kind: () => 'unary',
    unary: async (_h, body) => body,
    stream: async () => {},
  });
  const head = {
    service: 'm',
    endpoint: 'M.Echo',
    contentType: 'application/json',
    metadata: {},
    deadline: Date.now() + 60_000,
  };
  gc();
  const before = process.memoryUsage();
  const clients: Transport[] = [];
  for (let i = 0; i < count; i++) {
    const t = make();
    clients.push(t);
    await t
      .dial(listener.address)
      .call({ ...head, deadline: Date.now() + 60_000 }, new Uint8Array(1));
  }
  await new Promise((r) => setTimeout(r, 200));
  gc();
  const after = process.memoryUsage();
  const bytes = (after.heapUsed + after.external - before.heapUsed - before.external) / count;
  for (const t of clients) await t.close();
  await listener.close();
  await server.close();
  return bytes;
}

/** createService + start for a server, createService for a client, then the first call answered. */
async function firstCall(make: () => Transport): Promise<number> {
  const t0 = process.hrtime.bigint();
  const registry = memoryRegistry();
  const logger = pino({ level: 'silent' });
  const server = createService({
    name: 'first',
    registry,
    transport: make(),
    logger,
    drainDelayMs: 0,
  });
  server.handle('Bench', {
    async Echo(req: unknown) {
      return req;
    },
  });
  await server.start();
  const client = createService({ name: 'first-client', registry, transport: make(), logger });
  await client.client.call('first', 'Bench.Echo', PAYLOAD);
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  await client.stop();
  await server.stop();
  return ms;
}

const idleCount = Number(process.env.BENCH_IDLE_CONNECTIONS ?? '500');
const picks = await selectorPicks();
const watch = await watchUpdate();
const nativeIdle = await idleConnectionBytes(() => nativeTransport(), idleCount);
const grpcIdle = await idleConnectionBytes(() => grpcTransport(), Math.min(idleCount, 200));
const nativeFirst = await firstCall(() => nativeTransport());
const grpcFirst = await firstCall(() => grpcTransport());
console.log(
  JSON.stringify({
    selector: { nodes: NODES, ...picks },
    watch: { nodes: NODES, ...watch },
    idleConnectionBytes: { native: nativeIdle, grpc: grpcIdle, connections: idleCount },
    firstCallMs: { native: nativeFirst, grpc: grpcFirst },
  }),
);
process.exit(0);
