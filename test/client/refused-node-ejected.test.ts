import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import {
  MicroError,
  registrySelector,
  type CallWrapper,
  type Node,
  type Selector,
  type Service,
} from '../../src/index.js';
import { cluster, quietLogger } from '../helpers/services.js';

// One real node and one registered node whose port refuses connections (a crashed process the
// registry still lists). Over real gRPC on loopback.
const c = cluster();
const deadNode: Node = { id: 'echo-dead', address: '', metadata: {} };
let liveId = '';

/** A loopback port nothing listens on: bound, then released. */
async function refusingAddress(): Promise<string> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `127.0.0.1:${port}`;
}

before(async () => {
  const live = c.service({ name: 'echo' });
  live.handle('Echo', {
    async Call() {
      return { ok: true };
    },
  });
  await live.start();
  liveId = live.server.node!.id;
  deadNode.address = await refusingAddress();
  await c.registry.register(
    { name: 'echo', version: 'latest', endpoints: [], nodes: [deadNode] },
    { ttlMs: 0 },
  );
});
after(() => c.stopAll());

function client(selector: Selector, attempts: string[]): Service {
  const record: CallWrapper = (next) => (ctx, node, req, opts) => {
    attempts.push(node.id);
    return next(ctx, node, req, opts);
  };
  return c.service({ name: 'caller', selector, wrapCall: [record], logger: quietLogger() });
}

test('a node refusing connections is ejected after 3 faults, calls succeed meanwhile, and reset() puts it back', async () => {
  const selector = registrySelector({ registry: c.registry, strategy: 'roundRobin' });
  const attempts: string[] = [];
  const caller = client(selector, attempts);
  // Not idempotent: a refused connection never reached a handler, so it is retried anyway.
  for (let i = 0; i < 30; i++) await caller.client.call('echo', 'Echo.Call', {});
  assert.equal(
    attempts.filter((id) => id === deadNode.id).length,
    3,
    'exactly three faults, then no more attempts',
  );
  const dead = selector.stats!('echo').find((s) => s.id === deadNode.id)!;
  assert.equal(dead.ejected, true);
  assert.equal(dead.ejections, 1);
  assert.ok(dead.ejectedUntil! - Date.now() > 5_000, 'ejected for the base period (10 s)');
  const live = selector.stats!('echo').find((s) => s.id === liveId)!;
  assert.equal(live.ejected, false);

  selector.reset('echo');
  attempts.length = 0;
  for (let i = 0; i < 4; i++) await caller.client.call('echo', 'Echo.Call', {});
  assert.ok(attempts.includes(deadNode.id), 'after reset() the node is tried again');
  await selector.close();
});

test('in a total outage at most half the nodes are ejected, so calls keep reaching the rest', async () => {
  const dead = await Promise.all(
    ['a', 'b'].map(async (x) => ({
      id: `outage-${x}`,
      address: await refusingAddress(),
      metadata: {},
    })),
  );
  await c.registry.register(
    { name: 'outage', version: 'latest', endpoints: [], nodes: dead },
    { ttlMs: 0 },
  );
  const selector = registrySelector({ registry: c.registry });
  const attempts: string[] = [];
  const caller = client(selector, attempts);
  for (let i = 0; i < 10; i++) {
    await assert.rejects(
      caller.client.call('outage', 'Echo.Call', {}),
      (err: unknown) => MicroError.is(err, 503) && err.fault?.beforeHandler === true,
    );
  }
  assert.equal(attempts.length, 30, 'every call still makes all its attempts (1 + 2 retries)');
  const stats = selector.stats!('outage');
  assert.deepEqual(
    stats.map((s) => s.ejected).sort(),
    [false, true],
    'one of two nodes ejected (50 %), never both',
  );
  const kept = stats.find((s) => !s.ejected)!;
  assert.ok(kept.consecutiveFaults >= 3, 'the kept node is failing too, but the share is used up');
  await selector.close();
});
