// The gRPC transport's connections over their life: a server process dying mid-call, idle
// channels closing, and nothing left open after close.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { MicroError } from '../../../src/errors.js';
import { grpcTransport } from '../../../src/transport/grpc/grpc.js';
import { echoHead } from '../../fixtures/transport-conformance.js';
import { echoDispatcher } from '../../fixtures/transport-echo.js';
import { startFixture } from '../../helpers/processes.js';

/**
 * TCP handles (sockets, servers) keeping this process alive. grpc-js unrefs a client connection
 * with no call in flight, so an idle connection shows as the server's end only.
 */
function tcpHandles(): number {
  return process.getActiveResourcesInfo().filter((r) => r.startsWith('TCP')).length;
}

/**
 * Waits until this process holds at most `max` TCP handles. Sockets close asynchronously and
 * grpc-js offers no event for "channel fully closed", so this polls — bounded to 5 s.
 */
async function tcpHandlesSettle(max: number): Promise<number> {
  for (let i = 0; i < 250 && tcpHandles() > max; i++) await sleep(20);
  return tcpHandles();
}

test('grpc: a server process killed mid-call fails the call with 503 and fault.beforeHandler false', async (t) => {
  const server = startFixture('transport-server', ['--serve']);
  t.after(() => server.kill('SIGKILL'));
  const [, address] = await server.waitForLine(/^listening (\S+)$/);
  const transport = grpcTransport();
  t.after(() => transport.close());
  const conn = transport.dial(address);
  assert.deepEqual([...(await conn.call(echoHead('Echo.Say'), new Uint8Array([1])))], [1]);

  const failed = conn
    .call(echoHead('Echo.Say', { metadata: { 'delay-ms': '60000' } }), new Uint8Array())
    .catch((e: unknown) => e);
  await server.waitForLine(/^call Echo\.Say$/);
  await server.kill('SIGKILL');
  const err = await failed;
  assert.ok(MicroError.is(err, 503), String(err));
  assert.deepEqual(err.fault, { beforeHandler: false, reason: 'reset' });

  // The node is gone: the next call on the same channel never reaches a handler.
  const next = await conn.call(echoHead('Echo.Say'), new Uint8Array()).catch((e: unknown) => e);
  assert.ok(MicroError.is(next, 503), String(next));
  assert.equal(next.fault?.beforeHandler, true);
});

test('grpc: a channel unused for poolIdleMs is closed without evict()', async (t) => {
  // Earlier tests closed everything they opened; their sockets may still be closing.
  const before = await tcpHandlesSettle(0);
  assert.equal(before, 0);
  const server = grpcTransport();
  const listener = await server.listen('127.0.0.1:0', echoDispatcher());
  const client = grpcTransport({ poolIdleMs: 50 });
  t.after(async () => {
    await client.close();
    await listener.close();
  });
  await client.dial(listener.address).call(echoHead('Echo.Say'), new Uint8Array());
  assert.equal(
    tcpHandles(),
    before + 2,
    "the listening socket and the server's end of the connection",
  );
  // Only the listening socket remains once the idle channel has closed.
  assert.equal(await tcpHandlesSettle(before + 1), before + 1);
  // And the next call dials afresh.
  assert.equal(
    (await client.dial(listener.address).call(echoHead('Echo.Say'), new Uint8Array([3])))[0],
    3,
  );
  await client.close();
  await listener.close();
  assert.equal(await tcpHandlesSettle(before), before);
});

test('grpc: evict(), close() and listener.close() leave no open handles', async (t) => {
  const before = await tcpHandlesSettle(0);
  assert.equal(before, 0);
  const server = grpcTransport();
  const a = await server.listen('127.0.0.1:0', echoDispatcher());
  const b = await server.listen('127.0.0.1:0', echoDispatcher());
  const client = grpcTransport();
  t.after(async () => {
    await client.close();
    await Promise.all([a.close(), b.close()]);
  });
  for (const l of [a, b]) await client.dial(l.address).call(echoHead('Echo.Say'), new Uint8Array());
  const stream = client.dial(a.address).stream(echoHead('Echo.Stream', { deadline: Infinity }));
  await stream.send(new Uint8Array([1]));
  stream.closeSend();
  for await (const _ of stream) {
    /* drain */
  }
  assert.equal(tcpHandles(), before + 4, "two listeners, the server's end of two connections");
  client.evict(b.address);
  await b.close();
  assert.equal(
    await tcpHandlesSettle(before + 2),
    before + 2,
    "only a's listener and connection remain",
  );
  await client.close();
  await a.close();
  await server.close();
  assert.equal(await tcpHandlesSettle(before), before);
});
