// A native stream's flow control, counted over real sockets: a reader that does not read holds
// its writer at the window (STREAM_WINDOW_MAX small messages, STREAM_WINDOW large ones), and each
// message read lets exactly that many more through. No verdict here depends on time: the writer
// is given round trips on the same connection to run ahead, and every bound is a count.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { nativeTransport } from '../../../src/transport/native/native.js';
import {
  STREAM_WINDOW,
  STREAM_WINDOW_BYTES,
  STREAM_WINDOW_MAX,
} from '../../../src/transport/native/frame.js';
import type { Connection } from '../../../src/transport/transport.js';
import { echoHead } from '../../fixtures/transport-conformance.js';

/** A server whose Pour stream sends `size`-byte messages until it has sent `total`. */
async function pourServer(
  t: TestContext,
  size: number,
  total: number,
): Promise<{ conn: Connection; sent: () => number; done: Promise<void> }> {
  const transport = nativeTransport();
  let sent = 0;
  let finished!: () => void;
  const done = new Promise<void>((resolve) => {
    finished = resolve;
  });
  const listener = await transport.listen('127.0.0.1:0', {
    kind: (e) => (e === 'Echo.Say' ? 'unary' : 'stream'),
    unary: async (_h, body) => body,
    stream: async (_h, stream) => {
      const body = new Uint8Array(size);
      for (let i = 0; i < total; i++) {
        await stream.send(body);
        sent++;
      }
      finished();
    },
  });
  const client = nativeTransport();
  t.after(async () => {
    await client.close();
    await listener.close();
    await transport.close();
  });
  return { conn: client.dial(listener.address), sent: () => sent, done };
}

/** Round trips on `conn`: time for the writer, on the same connection, to run ahead if it could. */
async function roundTrips(conn: Connection, n: number): Promise<void> {
  for (let i = 0; i < n; i++) await conn.call(echoHead('Echo.Say'), new Uint8Array([i & 0xff]));
}

/** Waits, in round trips (at most `max`), until `sent()` reaches `target`. */
async function until(conn: Connection, sent: () => number, target: number, max: number) {
  for (let i = 0; i < max && sent() < target; i++) await roundTrips(conn, 1);
}

for (const [label, size, window] of [
  ['100-byte', 100, STREAM_WINDOW_MAX],
  ['64 KiB', 64 * 1024, STREAM_WINDOW],
] as const) {
  test(`native: a reader that stops holds a writer of ${label} messages at ${window} messages, and each read lets one more through`, async (t) => {
    assert.ok(window * size <= Math.max(STREAM_WINDOW_BYTES + size, STREAM_WINDOW * size));
    const total = window * 4;
    const { conn, sent, done } = await pourServer(t, size, total);
    const stream = conn.stream(echoHead('Echo.Pour', { deadline: Infinity }));
    stream.closeSend();
    // The writer fills the window...
    await until(conn, sent, window, 10_000);
    assert.equal(sent(), window, 'the writer reached the window');
    // ...and stays there while nobody reads, however many round trips it is given.
    await roundTrips(conn, 200);
    assert.equal(sent(), window, 'the writer went past the window with nobody reading');

    // Reading lets it on, never further than the window ahead of the reader.
    const it = stream[Symbol.asyncIterator]();
    let read = 0;
    let maxAhead = 0;
    for (; read < total; read++) {
      const r = await it.next();
      assert.equal(r.done, false);
      assert.equal(r.value.byteLength, size);
      maxAhead = Math.max(maxAhead, sent() - (read + 1));
      if (read % 97 === 0) await roundTrips(conn, 1);
    }
    await done;
    assert.equal((await it.next()).done, true);
    assert.equal(sent(), total);
    assert.ok(maxAhead <= window, `the writer ran ${maxAhead} messages ahead of the reader`);
  });
}

test('native: a writer of mixed sizes is held by the byte bound once 64 messages are in flight', async (t) => {
  // 64 small messages, then 1 MiB ones: past 64 in flight only STREAM_WINDOW_BYTES may be, so the
  // writer stops at the first big message beyond the 64th.
  const transport = nativeTransport();
  let sent = 0;
  const listener = await transport.listen('127.0.0.1:0', {
    kind: (e) => (e === 'Echo.Say' ? 'unary' : 'stream'),
    unary: async (_h, body) => body,
    stream: async (_h, stream) => {
      for (let i = 0; i < 200; i++) {
        await stream.send(new Uint8Array(i < STREAM_WINDOW - 1 ? 10 : STREAM_WINDOW_BYTES));
        sent++;
      }
    },
  });
  const client = nativeTransport();
  t.after(async () => {
    await client.close();
    await listener.close();
    await transport.close();
  });
  const conn = client.dial(listener.address);
  const stream = conn.stream(echoHead('Echo.Pour', { deadline: Infinity }));
  stream.closeSend();
  await until(conn, () => sent, STREAM_WINDOW, 10_000);
  await roundTrips(conn, 200);
  // 63 small + 1 big = 64 in flight, bytes over the bound: no 65th.
  assert.equal(sent, STREAM_WINDOW);
  stream.cancel();
});
