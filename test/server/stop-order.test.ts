import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  createService,
  grpcTransport,
  memoryRegistry,
  type Registry,
  type Transport,
} from '../../src/index.js';
import { quietLogger } from '../helpers/services.js';

/**
 * Graceful stop, in order: deregister → drain delay (still serving) → stop accepting → in-flight
 * calls finish → closed. Real gRPC sockets; the registry and transport are the real ones, wrapped
 * only to record when stop() reaches them.
 */
function recorded(events: string[]): { registry: Registry; transport: Transport } {
  const registry = memoryRegistry();
  const transport = grpcTransport();
  return {
    registry: Object.assign(Object.create(registry) as Registry, {
      deregister: async (s: Parameters<Registry['deregister']>[0]) => {
        events.push('deregister');
        await registry.deregister(s);
      },
      close: () => registry.close(),
    }),
    transport: Object.assign(Object.create(transport) as Transport, {
      listen: async (...args: Parameters<Transport['listen']>) => {
        const listener = await transport.listen(...args);
        return {
          address: listener.address,
          close: async (graceMs?: number) => {
            events.push('stop accepting');
            await listener.close(graceMs);
            events.push('closed');
          },
        };
      },
      close: () => transport.close(),
    }),
  };
}

test('stop deregisters, keeps serving through the drain delay, then lets in-flight calls finish', async () => {
  const events: string[] = [];
  const { registry, transport } = recorded(events);
  await using server = createService({
    name: 'draining',
    registry,
    transport,
    logger: quietLogger(),
    drainDelayMs: 500,
    stopTimeoutMs: 10_000,
  });
  let release!: () => void;
  const released = new Promise<void>((r) => {
    release = r;
  });
  let started!: () => void;
  const handlerStarted = new Promise<void>((r) => {
    started = r;
  });
  server.handle('Work', {
    async Slow() {
      events.push('slow call running');
      started();
      await released;
      events.push('slow call done');
      return { done: true };
    },
    async Fast() {
      return { ok: true };
    },
  });
  await server.start();
  const address = server.server.node!.address;
  await using caller = createService({
    name: 'caller',
    registry,
    transport: grpcTransport(),
    logger: quietLogger(),
  });

  const slow = caller.client.call<{ done: boolean }>(
    'draining',
    'Work.Slow',
    {},
    { timeoutMs: 30_000, retries: 0 },
  );
  await handlerStarted;
  const stopping = server.server.stop().then(() => events.push('stopped'));
  // During the drain delay the node is gone from the registry but still answers callers whose
  // cache has not caught up yet.
  while (!events.includes('deregister')) await new Promise((r) => setImmediate(r));
  assert.deepEqual(await registry.getService('draining'), []);
  assert.deepEqual(await caller.client.call('draining', 'Work.Fast', {}, { address, retries: 0 }), {
    ok: true,
  });
  events.push('drain-time call answered');
  // The in-flight call outlives the drain delay and the start of the close.
  while (!events.includes('stop accepting')) await new Promise((r) => setTimeout(r, 10));
  release();
  assert.deepEqual(await slow, { done: true });
  await stopping;
  assert.deepEqual(events, [
    'slow call running',
    'deregister',
    'drain-time call answered',
    'stop accepting',
    'slow call done',
    'closed',
    'stopped',
  ]);
  await registry.close();
});

test('a server that never registered skips the drain delay', { timeout: 20_000 }, async () => {
  const events: string[] = [];
  const { registry, transport } = recorded(events);
  // Registry closed before start: every registration fails; the server serves unregistered.
  await registry.close();
  await using server = createService({
    name: 'unlisted',
    registry,
    transport,
    logger: quietLogger(),
    drainDelayMs: 120_000,
    registerAttempts: 1,
    requireRegistration: false,
  });
  await server.start();
  // With a 2 min drain, only the skip lets this finish within the test's timeout.
  await server.stop();
  assert.deepEqual(events, ['deregister', 'stop accepting', 'closed']);
});

test('bad lifecycle options throw at construction, naming the option', () => {
  const registry = memoryRegistry();
  assert.throws(() => createService({ name: 'x', registry, drainDelayMs: -1 }), /drainDelayMs/);
  assert.throws(
    () => createService({ name: 'x', registry, registerAttempts: 0 }),
    /registerAttempts/,
  );
  assert.throws(
    () => createService({ name: 'x', registry, requireRegistration: 'yes' as unknown as boolean }),
    /requireRegistration/,
  );
});
