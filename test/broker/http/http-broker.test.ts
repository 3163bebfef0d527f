import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MicroError, InvalidOptionError, memoryRegistry } from '../../../src/index.js';
import type { BrokerMessage } from '../../../src/broker/broker.js';
import {
  BROADCAST_VERSION,
  BROKER_SERVICE,
  httpBroker,
  type HttpBroker,
} from '../../../src/broker/http/http.js';
import type { Registry } from '../../../src/registry/registry.js';
import { freePorts } from '../../helpers/servers.js';

// Several brokers in one process, each with its own port, on one registry: what separate
// processes do, over the same real sockets (the multi-process test is processes.test.ts).

const msg = (n: number): BrokerMessage => ({ header: { n: String(n) }, body: new Uint8Array([n]) });

async function brokers(
  n: number,
  registry: Registry = memoryRegistry(),
): Promise<HttpBroker[] & AsyncDisposable> {
  const list = Array.from({ length: n }, () => httpBroker({ registry })) as HttpBroker[] &
    AsyncDisposable;
  list[Symbol.asyncDispose] = async () => {
    await Promise.all(list.map((b) => b.disconnect()));
  };
  return list;
}

/** Registers a subscription the way a go-micro peer would, at an address nothing listens on. */
async function registerDeadSubscriber(
  registry: Registry,
  topic: string,
  queue?: string,
): Promise<string> {
  const [port] = await freePorts(1);
  const id = `${topic}-dead-${port}`;
  await registry.register({
    name: BROKER_SERVICE,
    version: queue ?? BROADCAST_VERSION,
    metadata: {},
    endpoints: [],
    nodes: [
      { id, address: `127.0.0.1:${port}`, metadata: { secure: 'false', broker: 'http', topic } },
    ],
  });
  return id;
}

test('queue groups get each message once, broadcast subscribers every message; publish resolves after the handlers ran', async () => {
  await using all = await brokers(3);
  const [a, b, pub] = all;
  const seen: string[] = [];
  const rec =
    (who: string) =>
    async (m: BrokerMessage): Promise<void> => {
      seen.push(`${who}:${m.header.n}`);
    };
  await a.subscribe('orders', rec('a.q'), { queue: 'workers' });
  await b.subscribe('orders', rec('b.q'), { queue: 'workers' });
  await a.subscribe('orders', rec('a.all'));
  await b.subscribe('orders', rec('b.all'));
  await b.subscribe('other', rec('b.other'));
  assert.equal(pub.address, undefined, 'a broker that only publishes opens no port');

  const N = 200;
  for (let n = 0; n < N; n++) {
    await pub.publish('orders', msg(n));
    // Resolved means delivered: no waiting for asynchronous delivery.
    assert.ok(seen.includes(`a.all:${n}`) && seen.includes(`b.all:${n}`), `broadcast ${n}`);
  }
  const queued = seen.filter((s) => s.includes('.q:'));
  assert.equal(queued.length, N, 'the queue group got each message once');
  assert.equal(new Set(queued.map((s) => s.split(':')[1])).size, N);
  const shareA = queued.filter((s) => s.startsWith('a.')).length;
  assert.ok(shareA > 0 && shareA < N, `both members got a share: ${shareA}/${N - shareA}`);
  assert.equal(seen.filter((s) => s.includes('.all:')).length, 2 * N);
  assert.equal(seen.filter((s) => s.startsWith('b.other')).length, 0, 'topics are kept apart');
  assert.equal(pub.stats().published, N);
  assert.equal(a.stats().delivered + b.stats().delivered, 3 * N);
});

test('a topic without subscribers resolves, as on NATS', async () => {
  await using all = await brokers(1);
  await all[0].publish('nobody.listens', msg(1));
  assert.equal(all[0].stats().published, 1);
});

test("a handler's rejection reaches the publisher: 500 with its detail, 400 for a refused malformed message; the subscription keeps serving", async () => {
  await using all = await brokers(2);
  const [sub, pub] = all;
  const handled: number[] = [];
  await sub.subscribe('jobs', async (m) => {
    const n = m.body[0];
    if (n === 1) throw new Error('disk full');
    if (n === 2) throw MicroError.badRequest('jobs', 'cannot decode job');
    handled.push(n);
  });
  await assert.rejects(pub.publish('jobs', msg(1)), (err: unknown) => {
    assert.ok(MicroError.is(err, 500), String(err));
    assert.match(err.detail, /publish to jobs: subscriber jobs-.* disk full/);
    return true;
  });
  await assert.rejects(pub.publish('jobs', msg(2)), (err: unknown) => {
    assert.ok(MicroError.is(err, 400), String(err));
    assert.equal(err.id, 'jobs');
    assert.match(err.detail, /cannot decode job/);
    return true;
  });
  await pub.publish('jobs', msg(3));
  assert.deepEqual(handled, [3]);
  assert.deepEqual(
    { handlerErrors: sub.stats().handlerErrors, malformed: sub.stats().malformed },
    { handlerErrors: 1, malformed: 1 },
  );
});

test('a registered broadcast subscriber that cannot be reached fails the publish with 503 naming the topic, then is left out', async () => {
  const registry = memoryRegistry();
  await using all = await brokers(2, registry);
  const [sub, pub] = all;
  const got: number[] = [];
  await sub.subscribe('audit', async (m) => {
    got.push(m.body[0]);
  });
  const deadId = await registerDeadSubscriber(registry, 'audit');

  await assert.rejects(pub.publish('audit', msg(1)), (err: unknown) => {
    assert.ok(MicroError.is(err, 503), String(err));
    assert.equal(err.id, 'tsmicro.broker');
    assert.match(err.detail, /publish to audit/);
    assert.ok(err.detail.includes(deadId), err.detail);
    return true;
  });
  assert.deepEqual(got, [1], 'the live subscriber got it all the same');
  assert.equal(pub.stats().unreachable, 1);
  // The failed delivery said it is dead: later publishes leave it out instead of failing forever.
  await pub.publish('audit', msg(2));
  assert.deepEqual(got, [1, 2]);
  assert.equal(pub.stats().unreachable, 1, 'not tried again');
});

test('in a queue group, a member that cannot be reached passes its message to another; 503 only when none can take it', async () => {
  const registry = memoryRegistry();
  await using all = await brokers(2, registry);
  const [sub, pub] = all;
  const got: number[] = [];
  await sub.subscribe('mail', async (m) => void got.push(m.body[0]), { queue: 'mailers' });
  for (let i = 0; i < 3; i++) await registerDeadSubscriber(registry, 'mail', 'mailers');
  for (let n = 0; n < 20; n++) await pub.publish('mail', msg(n));
  assert.deepEqual(
    got,
    Array.from({ length: 20 }, (_, n) => n),
    'every message reached the live member once',
  );
  assert.ok(pub.stats().unreachable <= 3, 'each dead member was tried at most once');

  await using lone = await brokers(1, registry);
  await registerDeadSubscriber(registry, 'lonely', 'q');
  await assert.rejects(lone[0].publish('lonely', msg(1)), (err: unknown) => {
    assert.ok(MicroError.is(err, 503), String(err));
    assert.match(
      err.detail,
      /publish to lonely: queue q: no member of queue group q can be reached/,
    );
    return true;
  });
});

test('unsubscribe and disconnect take the subscriptions out of the registry; a stale publisher is not an error', async () => {
  const registry = memoryRegistry();
  await using all = await brokers(2, registry);
  const [sub, pub] = all;
  const got: number[] = [];
  const s1 = await sub.subscribe('t', async (m) => void got.push(m.body[0]), { queue: 'g' });
  await sub.subscribe('t', async (m) => void got.push(100 + m.body[0]));
  const versions = async (): Promise<string[]> =>
    (await registry.getService(BROKER_SERVICE)).map((s) => s.version).sort();
  assert.deepEqual(await versions(), [BROADCAST_VERSION, 'g']);
  const [entry] = (await registry.getService(BROKER_SERVICE)).filter((s) => s.version === 'g');
  assert.match(entry.nodes[0].id, /^t-[0-9a-f-]{36}$/, 'node id is <topic>-<uuid>');
  assert.deepEqual(entry.nodes[0].metadata, { secure: 'false', broker: 'http', topic: 't' });
  assert.equal(entry.nodes[0].address, sub.address);

  await pub.publish('t', msg(1));
  await s1.unsubscribe();
  assert.deepEqual(await versions(), [BROADCAST_VERSION]);
  await pub.publish('t', msg(2));
  assert.deepEqual(got.sort(), [1, 101, 102]);
  await sub.disconnect();
  assert.deepEqual(await versions(), []);
  assert.equal(sub.address, undefined);
  await pub.publish('t', msg(3));
});

test('bad options fail at construction and name themselves', () => {
  const registry = memoryRegistry();
  const bad: [object, string][] = [
    [{}, 'httpBroker.registry'],
    [{ registry, address: 'nope' }, 'httpBroker.address'],
    [{ registry, advertise: '10.0.0.1:0' }, 'httpBroker.advertise'],
    [{ registry, registerTtlMs: 1000, registerIntervalMs: 1000 }, 'httpBroker.registerIntervalMs'],
    [{ registry, deliveryTimeoutMs: 0 }, 'httpBroker.deliveryTimeoutMs'],
    [{ registry, maxBodyBytes: -1 }, 'httpBroker.maxBodyBytes'],
  ];
  for (const [opts, option] of bad)
    assert.throws(
      () => httpBroker(opts as never),
      (err: unknown) => err instanceof InvalidOptionError && err.option === option,
      option,
    );
});

test('subscriptions are registered again before their TTL runs out', async () => {
  const registry = memoryRegistry();
  const broker = httpBroker({ registry, registerTtlMs: 3_000, registerIntervalMs: 100 });
  try {
    await broker.subscribe('beats', async () => {});
    // Past one TTL: only renewals keep the entry (the memory registry expires it otherwise).
    await new Promise((r) => setTimeout(r, 3_500));
    const [service] = await registry.getService(BROKER_SERVICE);
    assert.equal(service?.nodes.length, 1);
  } finally {
    await broker.disconnect();
  }
  assert.deepEqual(await registry.getService(BROKER_SERVICE), []);
});
