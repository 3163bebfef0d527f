import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import protobuf from 'protobufjs';
import {
  createService,
  grpcTransport,
  memoryRegistry,
  nativeTransport,
  type Registry,
} from '../../src/index.js';
import { grpcHealthClient, httpGet } from '../helpers/health-probes.js';
import { quietLogger } from '../helpers/services.js';
import { waitFor } from '../helpers/wait.js';

// One service in this process, probed from outside over real sockets: a plain grpc-js client of
// the standard grpc.health.v1 .proto, plain HTTP GETs, and the registry it registers in.

async function nodesOf(registry: Registry, name: string): Promise<string[]> {
  return (await registry.getService(name)).flatMap((s) => s.nodes.map((n) => n.id));
}

test('grpc.health.v1 and HTTP answer the same state; a failing critical check takes the node out of the registry and recovery brings it back', async () => {
  const registry = memoryRegistry();
  let dbDown = false;
  let dbRuns = 0;
  await using service = createService({
    name: 'health.surfaces',
    registry,
    transport: grpcTransport(),
    logger: quietLogger(),
    drainDelayMs: 0,
    health: {
      httpAddress: '127.0.0.1:0',
      checks: [
        {
          name: 'db',
          intervalMs: 50,
          check: () => {
            dbRuns++;
            if (dbDown) throw new Error('db down');
          },
        },
        {
          name: 'cache',
          critical: false,
          intervalMs: 50,
          check: () => Promise.reject(new Error('cold')),
        },
      ],
    },
  });
  service.handle('Greeter', { Hello: (req: { name: string }) => ({ msg: `Hello ${req.name}` }) });
  await service.start();
  assert.ok(dbRuns >= 1, 'start ran the check before registering');
  const address = service.server.node!.address;
  const nodeId = service.server.node!.id;
  const http = service.health.httpAddress!;
  const probe = grpcHealthClient(address);
  try {
    assert.equal(await probe.check(''), 'SERVING');
    assert.equal(await probe.check('health.surfaces'), 'SERVING');
    assert.deepEqual(await probe.list(), { '': 'SERVING', 'health.surfaces': 'SERVING' });
    await assert.rejects(probe.check('no.such.service'), (err: grpc.ServiceError) => {
      assert.equal(err.code, grpc.status.NOT_FOUND);
      return true;
    });
    const ready = await httpGet(http, '/health/ready');
    assert.equal(ready.code, 200);
    assert.equal(ready.body.status, 'up');
    const checks = ready.body.checks as { name: string; status: string; critical: boolean }[];
    assert.deepEqual(
      checks.map((c) => [c.name, c.status, c.critical]),
      [
        ['registry', 'up', false],
        ['db', 'up', true],
        ['cache', 'down', false],
      ],
      'a failing non-critical check is reported without making the node not ready',
    );
    assert.deepEqual(ready.body.info, {
      service: 'health.surfaces',
      version: 'latest',
      node: nodeId,
      state: 'serving',
    });
    assert.equal((await httpGet(http, '/health')).code, 200);
    assert.deepEqual(await httpGet(http, '/health/live'), { code: 200, body: { status: 'up' } });
    assert.deepEqual(await nodesOf(registry, 'health.surfaces'), [nodeId]);

    const watch = probe.watch('health.surfaces');
    await waitFor(() => watch.statuses.length > 0, 5_000, 'the first Watch message');

    // The critical check fails: every surface says so, and the node leaves the registry.
    dbDown = true;
    await waitFor(async () => (await probe.check('')) === 'NOT_SERVING', 5_000, 'NOT_SERVING');
    assert.equal(await probe.check('health.surfaces'), 'NOT_SERVING');
    const down = await httpGet(http, '/health/ready');
    assert.equal(down.code, 503);
    assert.equal(down.body.status, 'down');
    const db = (down.body.checks as Record<string, unknown>[]).find((c) => c.name === 'db')!;
    assert.deepEqual([db.status, db.critical, db.error], ['down', true, 'db down']);
    assert.ok(Number.isInteger(db.duration) && (db.duration as number) >= 0, 'ns, as go-micro');
    assert.equal((await httpGet(http, '/health')).code, 503);
    assert.equal((await httpGet(http, '/health/live')).code, 200, 'still live: it serves');
    await waitFor(
      async () => (await nodesOf(registry, 'health.surfaces')).length === 0,
      5_000,
      'the node to leave the registry',
    );
    // Not ready is not closed: a caller that still knows the address is answered.
    await using caller = createService({ name: 'caller', registry, logger: quietLogger() });
    assert.deepEqual(
      await caller.client.call('health.surfaces', 'Greeter.Hello', { name: 'late' }, { address }),
      { msg: 'Hello late' },
    );

    // Recovery: SERVING, 200, and listed again.
    dbDown = false;
    await waitFor(async () => (await probe.check('')) === 'SERVING', 5_000, 'SERVING again');
    assert.equal((await httpGet(http, '/health/ready')).code, 200);
    await waitFor(
      async () => (await nodesOf(registry, 'health.surfaces')).length === 1,
      5_000,
      'the node to be registered again',
    );
    await waitFor(() => watch.statuses.length >= 3, 5_000, 'the Watch to see both flips');
    assert.deepEqual(watch.statuses.slice(0, 3), ['SERVING', 'NOT_SERVING', 'SERVING']);
    watch.cancel();
  } finally {
    probe.close();
  }
});

test('stop() says NOT_SERVING before it deregisters, then ends Watch streams instead of waiting on them', async () => {
  const inner = memoryRegistry();
  let watch: ReturnType<ReturnType<typeof grpcHealthClient>['watch']> | undefined;
  const order: string[] = [];
  // The real registry, wrapped to see what the outside had heard when deregistration began.
  const registry: Registry = Object.assign(Object.create(inner) as Registry, {
    deregister: async (s: Parameters<Registry['deregister']>[0]) => {
      // A Watch client must have been told NOT_SERVING before the node leaves the registry.
      await waitFor(
        () => watch!.statuses.includes('NOT_SERVING'),
        5_000,
        'NOT_SERVING before deregistration',
        10,
      ).then(
        () => order.push('NOT_SERVING seen, then deregister'),
        () => order.push('deregister before NOT_SERVING'),
      );
      await inner.deregister(s);
    },
  });
  const service = createService({
    name: 'health.stop',
    registry,
    transport: grpcTransport(),
    logger: quietLogger(),
    drainDelayMs: 0,
    // Far longer than this test may take: a Watch that held the shutdown would show as a hang.
    stopTimeoutMs: 120_000,
  });
  service.handle('Greeter', { Hello: () => ({}) });
  await service.start();
  const probe = grpcHealthClient(service.server.node!.address);
  try {
    watch = probe.watch('');
    await waitFor(() => watch!.statuses.length > 0, 5_000, 'the first Watch message');
    await service.stop();
    assert.deepEqual(order, ['NOT_SERVING seen, then deregister']);
    assert.deepEqual(watch.statuses, ['SERVING', 'NOT_SERVING']);
    assert.equal(await watch.ended, grpc.status.OK, 'the server ended the Watch itself');
  } finally {
    probe.close();
  }
});

test('Debug.Health answers go-micro\'s {status: "ok"}: protobuf to a plain gRPC client, JSON to a tsmicro client; it is not published', async () => {
  const registry = memoryRegistry();
  await using service = createService({
    name: 'health.debug',
    registry,
    drainDelayMs: 0,
    transport: grpcTransport(),
    logger: quietLogger(),
  });
  service.handle('Greeter', { Hello: () => ({}) });
  await service.start();
  const root = protobuf.Root.fromJSON({
    nested: {
      HealthRequest: { fields: { service: { type: 'string', id: 1 } } },
      HealthResponse: { fields: { status: { type: 'string', id: 1 } } },
    },
  });
  const Req = root.lookupType('HealthRequest');
  const Rsp = root.lookupType('HealthResponse');
  const client = new grpc.Client(service.server.node!.address, grpc.credentials.createInsecure());
  try {
    // go-micro's gRPC client names the path /<service>.Debug/Health and sends protobuf.
    const rsp = await new Promise<Record<string, unknown>>((resolve, reject) =>
      client.makeUnaryRequest(
        '/health.debug.Debug/Health',
        (v: object) => Buffer.from(Req.encode(Req.fromObject(v)).finish()),
        (b: Buffer) => Rsp.toObject(Rsp.decode(b)),
        { service: 'health.debug' },
        (err, value) => (err ? reject(err) : resolve(value!)),
      ),
    );
    assert.deepEqual(rsp, { status: 'ok' });
  } finally {
    client.close();
  }
  await using caller = createService({ name: 'caller', registry, logger: quietLogger() });
  assert.deepEqual(await caller.client.call('health.debug', 'Debug.Health', {}), { status: 'ok' });
  const [entry] = await registry.getService('health.debug');
  assert.deepEqual(
    entry.endpoints.map((e) => e.name),
    ['Greeter.Hello'],
  );
});

test('an application handler named Debug replaces the built-in one', async () => {
  const registry = memoryRegistry();
  await using service = createService({
    name: 'health.own',
    registry,
    logger: quietLogger(),
    drainDelayMs: 0,
  });
  service.handle('Debug', { Health: () => ({ status: 'mine' }) });
  await service.start();
  await using caller = createService({ name: 'caller', registry, logger: quietLogger() });
  assert.deepEqual(await caller.client.call('health.own', 'Debug.Health', {}), { status: 'mine' });
  const [entry] = await registry.getService('health.own');
  assert.deepEqual(
    entry.endpoints.map((e) => e.name),
    ['Debug.Health'],
  );
});

test('with the native transport only there is no gRPC port: HTTP, the registry and Debug.Health remain', async () => {
  const registry = memoryRegistry();
  let down = false;
  await using service = createService({
    name: 'health.native',
    registry,
    drainDelayMs: 0,
    transport: nativeTransport(),
    logger: quietLogger(),
    health: {
      httpAddress: '127.0.0.1:0',
      checks: [{ name: 'flag', intervalMs: 50, check: () => assert.ok(!down, 'flag down') }],
    },
  });
  service.handle('Greeter', { Hello: () => ({}) });
  await service.start();
  const http = service.health.httpAddress!;
  assert.equal((await httpGet(http, '/health/ready')).code, 200);
  await using caller = createService({
    name: 'caller',
    registry,
    transport: nativeTransport(),
    logger: quietLogger(),
  });
  assert.deepEqual(await caller.client.call('health.native', 'Debug.Health', {}), { status: 'ok' });
  down = true;
  await waitFor(async () => (await httpGet(http, '/health/ready')).code === 503, 5_000, '503');
  await waitFor(
    async () => (await nodesOf(registry, 'health.native')).length === 0,
    5_000,
    'the node to leave the registry',
  );
});

test('the HTTP surface answers only its three routes, to GET and HEAD', async () => {
  await using service = createService({
    name: 'health.http',
    registry: memoryRegistry(),
    drainDelayMs: 0,
    logger: quietLogger(),
    health: { httpAddress: '127.0.0.1:0' },
  });
  await service.start();
  const http = service.health.httpAddress!;
  assert.equal((await httpGet(http, '/nope')).code, 404);
  const res = await fetch(`http://${http}/health`, { method: 'POST' });
  assert.equal(res.status, 405);
  assert.equal(res.headers.get('allow'), 'GET, HEAD');
  const head = await fetch(`http://${http}/health/live`, { method: 'HEAD' });
  assert.equal(head.status, 200);
  assert.equal(await head.text(), '');
});
