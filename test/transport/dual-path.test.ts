// Dual-path nodes: one service serves gRPC (for go-micro peers) and native (for tsmicro) at
// once; each client takes the path it can, over real sockets.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  MicroError,
  createService,
  memoryRegistry,
  streaming,
  type Service,
} from '../../src/index.js';
import { NATIVE_PORT_KEY, dualPathTransport } from '../../src/transport/dual-path.js';
import { grpcTransport } from '../../src/transport/grpc/grpc.js';
import { nativeTransport } from '../../src/transport/native/native.js';
import type { Connection, Transport } from '../../src/transport/transport.js';
import { freePorts } from '../helpers/servers.js';
import { quietLogger } from '../helpers/services.js';
import { waitFor } from '../helpers/wait.js';

/**
 * A transport that records which addresses it was asked to dial (observation only; the wire is
 * real).
 */
function recording(inner: Transport): Transport & { dialled: string[] } {
  const dialled: string[] = [];
  return {
    name: inner.name,
    dialled,
    listen: (a, d, o) => inner.listen(a, d, o),
    dial: (a: string): Connection => {
      dialled.push(a);
      return inner.dial(a);
    },
    evict: (a) => inner.evict(a),
    close: () => inner.close(),
  };
}

test('dual path: the node advertises gRPC as its address and the native port in metadata; each client uses its fastest path', async (t) => {
  const registry = memoryRegistry();
  const server = createService({
    name: 'dual',
    registry,
    transport: dualPathTransport(),
    logger: quietLogger(),
  });
  server.handle('Greeter', {
    async Hello(req: { name: string }) {
      return { msg: `Hello ${req.name}` };
    },
  });
  await server.start();
  const services: Service[] = [server];
  t.after(async () => {
    for (const s of services.reverse()) await s.stop();
  });

  const [node] = (await registry.getService('dual'))[0].nodes;
  assert.ok(node);
  assert.equal(node.metadata.protocol, 'grpc', 'go-micro peers must see a gRPC node');
  assert.match(node.metadata[NATIVE_PORT_KEY] ?? '', /^[1-9]\d*$/);
  assert.notEqual(node.metadata[NATIVE_PORT_KEY], node.address.split(':').pop());

  // A tsmicro client with both paths dials the native port.
  const fast = recording(nativeTransport());
  const slow = recording(grpcTransport());
  const dual = createService({
    name: 'caller-dual',
    registry,
    transport: dualPathTransport({ grpc: slow, native: fast }),
    logger: quietLogger(),
  });
  services.push(dual);
  assert.deepEqual(await dual.client.call('dual', 'Greeter.Hello', { name: 'native' }), {
    msg: 'Hello native',
  });
  assert.deepEqual(fast.dialled, [`127.0.0.1:${node.metadata[NATIVE_PORT_KEY]}`]);
  assert.deepEqual(slow.dialled, []);

  // A gRPC-only client (what a go-micro peer is) reaches the same node at its address.
  const grpcOnly = createService({
    name: 'caller-grpc',
    registry,
    transport: grpcTransport(),
    logger: quietLogger(),
  });
  services.push(grpcOnly);
  assert.deepEqual(await grpcOnly.client.call('dual', 'Greeter.Hello', { name: 'grpc' }), {
    msg: 'Hello grpc',
  });
});

test('dual path: a client with both paths calls a gRPC-only node over gRPC', async (t) => {
  const registry = memoryRegistry();
  const server = createService({
    name: 'plain',
    registry,
    transport: grpcTransport(),
    logger: quietLogger(),
  });
  server.handle('Greeter', {
    async Hello(req: { name: string }) {
      return { msg: `Hi ${req.name}` };
    },
  });
  await server.start();
  const fast = recording(nativeTransport());
  const slow = recording(grpcTransport());
  const client = createService({
    name: 'caller',
    registry,
    transport: dualPathTransport({ grpc: slow, native: fast }),
    logger: quietLogger(),
  });
  t.after(async () => {
    await client.stop();
    await server.stop();
  });
  assert.deepEqual(await client.client.call('plain', 'Greeter.Hello', { name: 'go' }), {
    msg: 'Hi go',
  });
  assert.deepEqual(fast.dialled, []);
  assert.deepEqual(slow.dialled, [server.server.node!.address]);
});

test('dual path: streams take the native path too', async (t) => {
  const registry = memoryRegistry();
  const server = createService({
    name: 'dual-stream',
    registry,
    transport: dualPathTransport(),
    logger: quietLogger(),
  });
  server.handle('Echo', {
    Chat: streaming(async (stream) => {
      for await (const m of stream) await stream.send(m);
    }),
  });
  await server.start();
  const fast = recording(nativeTransport());
  const client = createService({
    name: 'caller',
    registry,
    transport: dualPathTransport({ native: fast }),
    logger: quietLogger(),
  });
  t.after(async () => {
    await client.stop();
    await server.stop();
  });
  const stream = await client.client.stream<{ n: number }, { n: number }>(
    'dual-stream',
    'Echo.Chat',
  );
  await stream.send({ n: 1 });
  await stream.send({ n: 2 });
  stream.closeSend();
  const got: number[] = [];
  for await (const m of stream) got.push(m.n);
  assert.deepEqual(got, [1, 2]);
  assert.equal(fast.dialled.length, 1);
});

test('dual path: a native port the client cannot reach costs nothing but time: the call goes over gRPC, and native is tried again after nativeRetryMs', async (t) => {
  const registry = memoryRegistry();
  // A gRPC-only node advertising a native port nothing listens on yet (a firewall, a container
  // publishing only the gRPC port): connections there are refused.
  const [nativePort] = await freePorts(1);
  const server = createService({
    name: 'half',
    registry,
    transport: grpcTransport(),
    metadata: { [NATIVE_PORT_KEY]: String(nativePort) },
    logger: quietLogger(),
  });
  server.handle('Where', { Am: () => ({ path: 'grpc' }) });
  await server.start();
  const client = createService({
    name: 'caller',
    registry,
    transport: dualPathTransport({ nativeRetryMs: 400 }),
    logger: quietLogger(),
  });
  const services: Service[] = [server, client];
  t.after(async () => {
    for (const s of services.reverse()) await s.stop();
  });
  const where = async (): Promise<string> =>
    (await client.client.call<{ path: string }>('half', 'Where.Am', {}, { retries: 0 })).path;

  assert.equal(await where(), 'grpc', 'the refused native call is sent again over gRPC');
  const skippedAt = Date.now();

  // Native comes up on that port (its own registry, so it is not a second node of 'half').
  const native = createService({
    name: 'half-native',
    registry: memoryRegistry(),
    transport: nativeTransport(),
    address: `127.0.0.1:${nativePort}`,
    logger: quietLogger(),
  });
  native.handle('Where', { Am: () => ({ path: 'native' }) });
  await native.start();
  services.push(native);
  assert.equal(await where(), 'grpc', 'within nativeRetryMs the node is called over gRPC');
  assert.ok(
    Date.now() - skippedAt < 400,
    'the second call must fall inside the retry window for this test to mean anything',
  );

  await new Promise((r) => setTimeout(r, 450 - (Date.now() - skippedAt)));
  assert.equal(await where(), 'native', 'after nativeRetryMs native is tried again');
  assert.equal(await where(), 'native');
});

test('dual path: a node that comes back at the same address on another native port is dialled at the new one', async (t) => {
  const registry = memoryRegistry();
  const first = createService({
    name: 'moving',
    registry,
    transport: dualPathTransport(),
    logger: quietLogger(),
  });
  first.handle('Where', { Am: () => ({ n: 1 }) });
  await first.start();
  const address = first.server.node!.address;
  const fast = recording(nativeTransport());
  const client = createService({
    name: 'caller',
    registry,
    transport: dualPathTransport({ native: fast }),
    logger: quietLogger(),
  });
  const services: Service[] = [first, client];
  t.after(async () => {
    for (const s of services.reverse()) await s.stop();
  });
  assert.deepEqual(await client.client.call('moving', 'Where.Am', {}), { n: 1 });
  await first.stop();
  services.shift();

  const second = createService({
    name: 'moving',
    registry,
    transport: dualPathTransport(),
    address,
    logger: quietLogger(),
  });
  second.handle('Where', { Am: () => ({ n: 2 }) });
  await second.start();
  services.push(second);
  await waitFor(
    async () =>
      (await client.client.call<{ n: number }>('moving', 'Where.Am', {}).catch(() => undefined))
        ?.n === 2,
    10_000,
    'calls reach the restarted node',
  );
  const ports = new Set(fast.dialled.map((a) => a.split(':').pop()));
  assert.equal(fast.dialled.at(-1), `127.0.0.1:${second.server.node!.metadata[NATIVE_PORT_KEY]}`);
  assert.ok(ports.size >= 2, `dialled ${fast.dialled.join(', ')}`);
});

test("dual path: a stream refused on native fails with a retryable 503, and the node's next stream goes over gRPC", async (t) => {
  const registry = memoryRegistry();
  const [nativePort] = await freePorts(1);
  const server = createService({
    name: 'half-stream',
    registry,
    transport: grpcTransport(),
    metadata: { [NATIVE_PORT_KEY]: String(nativePort) },
    logger: quietLogger(),
  });
  server.handle('Echo', {
    Chat: streaming(async (stream) => {
      for await (const m of stream) await stream.send(m);
    }),
  });
  await server.start();
  const client = createService({
    name: 'caller',
    registry,
    transport: dualPathTransport(),
    logger: quietLogger(),
  });
  t.after(async () => {
    await client.stop();
    await server.stop();
  });
  const echo = async (): Promise<number[]> => {
    const stream = await client.client.stream<{ n: number }, { n: number }>(
      'half-stream',
      'Echo.Chat',
    );
    await stream.send({ n: 1 });
    stream.closeSend();
    const got: number[] = [];
    for await (const m of stream) got.push(m.n);
    return got;
  };

  const err = await echo().catch((e: unknown) => e);
  assert.ok(MicroError.is(err, 503), String(err));
  assert.deepEqual(err.fault, { beforeHandler: true, reason: 'refused' });
  assert.deepEqual(await echo(), [1]);
});
