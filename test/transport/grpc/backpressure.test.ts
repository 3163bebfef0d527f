// A gRPC stream's flow control, counted over real sockets: a reader that does not read holds its
// writer back (grpc-js stops reading from HTTP/2, whose flow-control windows then stop the
// peer), and reading lets it on without its running further ahead. The reader here never reads
// before the writer stalls: grpc-js pauses HTTP/2 only once its readable has been read from, so
// without the client stream's own first read(0) the writer ran all 1,024 messages into grpc-js's
// queue. HTTP/2 windows count bytes and sit under grpc-js's own buffers, so the count it stops at
// is measured, not predicted: the test asserts it stops, stays stopped, and is a small part of
// what it would send otherwise. No verdict depends on time: the writer is given round trips on
// the same connection to run ahead, and every bound is a count. The other way round, a server
// handler that has not started reading holds the client's sends back (grpc-js's server pauses
// HTTP/2 for each message it takes).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { grpcTransport } from '../../../src/transport/grpc/grpc.js';
import type { Connection } from '../../../src/transport/transport.js';
import { echoHead } from '../../fixtures/transport-conformance.js';

const SIZE = 16 * 1024;
/** What the writer sends in all: 16 MiB, far past any window or buffer on the way. */
const TOTAL = 1_024;
/** Round trips without progress after which the writer counts as stopped. */
const STALLED = 50;

/** Round trips on `conn`: time for the writer, on the same connection, to run ahead if it could. */
async function roundTrips(conn: Connection, n: number): Promise<void> {
  for (let i = 0; i < n; i++) await conn.call(echoHead('Echo.Say'), new Uint8Array([i & 0xff]));
}

/**
 * Gives the writer round trips until `sent()` stays put for {@link STALLED} of them, and returns
 * where it stopped: a small part of {@link TOTAL}, or the assertion says how far it got.
 */
async function stalledAt(conn: Connection, sent: () => number): Promise<number> {
  let last = -1;
  let still = 0;
  for (let i = 0; i < 10_000 && still < STALLED; i++) {
    await roundTrips(conn, 1);
    still = sent() === last ? still + 1 : 0;
    last = sent();
  }
  const held = sent();
  assert.equal(still, STALLED, `the writer never stopped (${held} of ${TOTAL} sent)`);
  assert.ok(held > 0, 'the writer sent nothing');
  assert.ok(held <= TOTAL / 8, `the writer ran ${held} messages ahead of a reader that reads none`);
  return held;
}

test('grpc: a reader that stops holds the writer back, and reading lets it on only as far', async (t) => {
  const server = grpcTransport();
  let sent = 0;
  let finished!: () => void;
  const done = new Promise<void>((resolve) => {
    finished = resolve;
  });
  const listener = await server.listen('127.0.0.1:0', {
    kind: (e) => (e === 'Echo.Say' ? 'unary' : 'stream'),
    unary: async (_h, body) => body,
    stream: async (_h, stream) => {
      for (let i = 0; i < TOTAL; i++) {
        const body = new Uint8Array(SIZE);
        body[0] = i & 0xff;
        await stream.send(body, true);
        sent++;
      }
      finished();
    },
  });
  const client = grpcTransport();
  t.after(async () => {
    await client.close();
    await listener.close();
    await server.close();
  });
  const conn = client.dial(listener.address);
  const stream = conn.stream(echoHead('Echo.Pour', { deadline: Infinity }));
  stream.closeSend();

  // The writer runs until the windows are full, then stops...
  const held = await stalledAt(conn, () => sent);
  // ...and stays stopped while nobody reads, however many round trips it is given.
  await roundTrips(conn, 200);
  assert.equal(sent, held, 'the writer went on with nobody reading');

  // Reading lets it on, never much further ahead of the reader than it got with none.
  const it = stream[Symbol.asyncIterator]();
  let maxAhead = 0;
  for (let read = 0; read < TOTAL; read++) {
    const r = await it.next();
    assert.equal(r.done, false);
    assert.equal(r.value.byteLength, SIZE);
    assert.equal(r.value[0], read & 0xff, 'messages arrive in order');
    maxAhead = Math.max(maxAhead, sent - (read + 1));
    if (read % 97 === 0) await roundTrips(conn, 1);
  }
  await done;
  assert.equal((await it.next()).done, true);
  assert.equal(sent, TOTAL);
  assert.ok(
    maxAhead <= 2 * held,
    `the writer ran ${maxAhead} messages ahead of the reader (held at ${held})`,
  );
  t.diagnostic(`held at ${held} messages of ${SIZE} bytes; at most ${maxAhead} ahead once reading`);
});

test('grpc: a server handler that does not read holds the client writer back', async (t) => {
  const server = grpcTransport();
  let startReading!: () => void;
  const reading = new Promise<void>((resolve) => {
    startReading = resolve;
  });
  let received = 0;
  const listener = await server.listen('127.0.0.1:0', {
    kind: (e) => (e === 'Echo.Say' ? 'unary' : 'stream'),
    unary: async (_h, body) => body,
    stream: async (_h, stream) => {
      await reading;
      for await (const body of stream) {
        assert.equal(body.byteLength, SIZE);
        assert.equal(body[0], received & 0xff, 'messages arrive in order');
        received++;
      }
      stream.closeSend();
    },
  });
  const client = grpcTransport();
  t.after(async () => {
    await client.close();
    await listener.close();
    await server.close();
  });
  const conn = client.dial(listener.address);
  const stream = conn.stream(echoHead('Echo.Pour', { deadline: Infinity }));
  let sent = 0;
  const writer = (async () => {
    for (let i = 0; i < TOTAL; i++) {
      const body = new Uint8Array(SIZE);
      body[0] = i & 0xff;
      await stream.send(body, true);
      sent++;
    }
    stream.closeSend();
  })();

  const held = await stalledAt(conn, () => sent);
  await roundTrips(conn, 200);
  assert.equal(sent, held, 'the client went on with the handler not reading');

  startReading();
  await writer;
  for await (const _ of stream) assert.fail('the handler sent nothing back');
  assert.equal(received, TOTAL);
  t.diagnostic(`client held at ${held} messages of ${SIZE} bytes`);
});
