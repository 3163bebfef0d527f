import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createService, memoryRegistry, memoryBroker, type Registry } from '../../src/index.js';
import { quietLogger } from '../helpers/services.js';

async function nodeIds(registry: Registry, name: string): Promise<string[]> {
  return (await registry.getService(name)).flatMap((s) => s.nodes.map((n) => n.id));
}

test('hooks run around start and stop in go-micro order', async () => {
  const events: string[] = [];
  const registry = memoryRegistry();
  const hook = (name: string) => async () => {
    events.push(`${name}:${(await nodeIds(registry, 'hooks')).length}`);
  };
  const s = createService({
    name: 'hooks',
    registry,
    logger: quietLogger(),
    beforeStart: [hook('beforeStart')],
    afterStart: [hook('afterStart')],
    beforeStop: [hook('beforeStop')],
    afterStop: [hook('afterStop')],
  });
  s.handle('H', {
    async M() {
      return {};
    },
  });
  await s.start();
  await s.stop();
  // The number after each hook is how many nodes were registered when it ran.
  assert.deepEqual(events, ['beforeStart:0', 'afterStart:1', 'beforeStop:1', 'afterStop:0']);
  await registry.close();
});

test('a failing beforeStart hook aborts the start', async () => {
  const registry = memoryRegistry();
  const s = createService({
    name: 'abort',
    registry,
    logger: quietLogger(),
    beforeStart: [
      () => {
        throw new Error('no config');
      },
    ],
  });
  await assert.rejects(s.start(), /no config/);
  assert.deepEqual(await nodeIds(registry, 'abort'), []);
  await s.stop();
  await registry.close();
});

test('the heartbeat keeps a node registered past its TTL; stop removes it at once', async () => {
  const registry = memoryRegistry();
  const s = createService({
    name: 'beat',
    registry,
    logger: quietLogger(),
    registerTtlMs: 300,
    registerIntervalMs: 100,
  });
  s.handle('H', {
    async M() {
      return {};
    },
  });
  await s.start();
  const id = s.server.node!.id;
  await new Promise((r) => setTimeout(r, 1000)); // over three TTLs: only renewals keep it alive
  assert.deepEqual(await nodeIds(registry, 'beat'), [id]);
  await s.stop();
  assert.deepEqual(await nodeIds(registry, 'beat'), []);
  await registry.close();
});

test('without a heartbeat the same node expires after its TTL', async () => {
  const registry = memoryRegistry();
  await registry.register(
    {
      name: 'silent',
      version: '1',
      endpoints: [],
      nodes: [{ id: 'silent-1', address: '127.0.0.1:1', metadata: {} }],
    },
    { ttlMs: 200 },
  );
  assert.deepEqual(await nodeIds(registry, 'silent'), ['silent-1']);
  await new Promise((r) => setTimeout(r, 400));
  assert.deepEqual(await nodeIds(registry, 'silent'), []);
  await registry.close();
});

test('run() serves until its signal aborts, then deregisters', async () => {
  const registry = memoryRegistry();
  const controller = new AbortController();
  let onStarted!: () => void;
  const started = new Promise<void>((r) => {
    onStarted = r;
  });
  const s = createService({
    name: 'runner',
    registry,
    broker: memoryBroker(),
    logger: quietLogger(),
    signal: controller.signal,
    handleSignals: false,
    afterStart: [onStarted],
  });
  s.handle('H', {
    async M() {
      return { ok: true };
    },
  });
  const running = s.run();
  const caller = createService({ name: 'c', registry, logger: quietLogger() });
  await started;
  assert.deepEqual(await caller.client.call('runner', 'H.M', {}), { ok: true });
  controller.abort();
  await running;
  assert.deepEqual(await nodeIds(registry, 'runner'), []);
  await caller.stop();
  await registry.close();
});

test('events published by the client reach subscribers, queue groups sharing them', async () => {
  const registry = memoryRegistry();
  const broker = memoryBroker();
  const got: string[] = [];
  let resolve!: () => void;
  const done = new Promise<void>((r) => {
    resolve = r;
  });
  const record =
    (who: string) =>
    async (e: { n: number }, ctx: { topic: string; metadata: Record<string, string> }) => {
      got.push(`${who}:${e.n}:${ctx.topic}:${ctx.metadata.tenant}`);
      if (got.length === 4) resolve();
    };
  const a = createService({ name: 'sub-a', registry, broker, logger: quietLogger() });
  const b = createService({ name: 'sub-b', registry, broker, logger: quietLogger() });
  a.subscribe('user.created', record('a'), { queue: 'q' });
  b.subscribe('user.created', record('b'), { queue: 'q' });
  a.subscribe('user.created', record('all'));
  await a.start();
  await b.start();
  await a.client.publish('user.created', { n: 1 }, { metadata: { tenant: 't1' } });
  await a.client.publish('user.created', { n: 2 }, { metadata: { tenant: 't1' } });
  await done;
  assert.deepEqual(got.filter((g) => g.startsWith('all')).sort(), [
    'all:1:user.created:t1',
    'all:2:user.created:t1',
  ]);
  assert.equal(
    got.filter((g) => !g.startsWith('all')).length,
    2,
    'each event reaches one member of the queue group',
  );
  await a.stop();
  await b.stop();
  await registry.close();
});
