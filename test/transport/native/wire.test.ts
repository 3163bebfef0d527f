// What the native transport promises beyond the shared contract: bad bytes on the wire get a
// MicroError (or a closed connection) while the server keeps serving; one connection carries
// many calls; streams apply backpressure; keepalive drops a silent peer; TLS works.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { once } from 'node:events';
import { MicroError, SERVER_ERROR_ID } from '../../../src/errors.js';
import {
  nativeTransport,
  type NativeTransportOptions,
} from '../../../src/transport/native/native.js';
import { Kind, headFrame } from '../../../src/transport/native/frame.js';
import type { Listener, Transport } from '../../../src/transport/transport.js';
import { echoDispatcher, type EchoDispatcher } from '../../fixtures/transport-echo.js';
import { echoHead } from '../../fixtures/transport-conformance.js';
import { makeTestPki } from '../../helpers/certs.js';

async function rig(
  t: TestContext,
  opts: NativeTransportOptions = {},
): Promise<{ transport: Transport; listener: Listener; dispatcher: EchoDispatcher }> {
  const transport = nativeTransport(opts);
  const dispatcher = echoDispatcher();
  const listener = await transport.listen('127.0.0.1:0', dispatcher);
  t.after(async () => {
    await listener.close();
    await transport.close();
  });
  return { transport, listener, dispatcher };
}

/** Opens a raw socket to `address`, collecting everything it receives. */
async function rawSocket(
  t: TestContext,
  address: string,
): Promise<{ socket: net.Socket; received: () => Buffer; closed: Promise<unknown> }> {
  const [host, port] = address.split(':') as [string, string];
  const socket = net.connect({ host, port: Number(port) });
  t.after(() => {
    socket.destroy();
  });
  const chunks: Buffer[] = [];
  socket.on('data', (c: Buffer) => chunks.push(c));
  socket.on('error', () => {});
  const closed = once(socket, 'close');
  await once(socket, 'connect');
  return { socket, received: () => Buffer.concat(chunks), closed };
}

/** Waits until `check` holds, polling; bounded by `ms`. */
async function until(check: () => boolean, ms = 5_000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Parses the frames in `buf` as [kind, id, payload] (test-side, independent of FrameReader). */
function frames(buf: Buffer): [number, number, Buffer][] {
  const out: [number, number, Buffer][] = [];
  let off = 0;
  while (buf.length - off >= 9) {
    const len = buf.readUInt32BE(off);
    if (buf.length - off < 4 + len) break;
    out.push([buf[off + 4], buf.readUInt32BE(off + 5), buf.subarray(off + 9, off + 4 + len)]);
    off += 4 + len;
  }
  return out;
}

function frame(kind: number, id: number, payload: Buffer): Buffer {
  const head = Buffer.alloc(9);
  head.writeUInt32BE(5 + payload.length, 0);
  head[4] = kind;
  head.writeUInt32BE(id, 5);
  return Buffer.concat([head, payload]);
}

test('native: a malformed head is answered with a 400 for that call, and the connection keeps serving', async (t) => {
  const { listener } = await rig(t);
  const raw = await rawSocket(t, listener.address);
  raw.socket.write(frame(Kind.Request, 1, Buffer.from([0, 0, 0, 9, 0xff, 0xff])));
  raw.socket.write(headFrame(Kind.Request, 3, echoHead('Echo.Say'), Buffer.from('hi'), Date.now()));
  await until(() => frames(raw.received()).length >= 2);
  const [first, second] = frames(raw.received());
  assert.equal(first[0], Kind.Error);
  assert.equal(first[1], 1);
  const err = MicroError.fromJSON(first[2].toString());
  assert.equal(err.code, 400);
  assert.equal(err.id, SERVER_ERROR_ID);
  assert.match(err.detail, /malformed request head/);
  assert.deepEqual([second[0], second[1], second[2].toString()], [Kind.Reply, 3, 'hi']);
});

test('native: a frame too large is skipped unread with a 413, and the next frame is served', async (t) => {
  const { listener } = await rig(t);
  const raw = await rawSocket(t, listener.address);
  // Claims 64 MiB but is sent in pieces: the server must not wait to buffer it.
  const huge = Buffer.alloc(9);
  huge.writeUInt32BE(5 + 64 * 1024 * 1024, 0);
  huge[4] = Kind.Request;
  huge.writeUInt32BE(1, 5);
  raw.socket.write(huge);
  await until(() => frames(raw.received()).length >= 1);
  const [[kind, id, payload]] = frames(raw.received()) as [[number, number, Buffer]];
  assert.equal(kind, Kind.Error);
  assert.equal(id, 1);
  assert.equal(MicroError.fromJSON(payload.toString()).code, 413);
  const chunk = Buffer.alloc(1024 * 1024);
  for (let i = 0; i < 64; i++) raw.socket.write(chunk);
  raw.socket.write(
    headFrame(Kind.Request, 3, echoHead('Echo.Say'), Buffer.from('after'), Date.now()),
  );
  await until(() => frames(raw.received()).length >= 2, 20_000);
  const second = frames(raw.received())[1];
  assert.deepEqual([second[0], second[1], second[2].toString()], [Kind.Reply, 3, 'after']);
});

test('native: bytes that are not frames close that connection only; the server keeps serving others', async (t) => {
  const { transport, listener } = await rig(t);
  const raw = await rawSocket(t, listener.address);
  raw.socket.write(Buffer.from([0, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0]));
  await raw.closed;
  const reply = await transport
    .dial(listener.address)
    .call(echoHead('Echo.Say'), new Uint8Array([4]));
  assert.deepEqual([...reply], [4]);
});

test('native: a server answering garbage fails the client call with a protocol fault, not a hang', async (t) => {
  const server = net.createServer((socket) => {
    socket.once('data', () => socket.write(Buffer.from([0, 0, 0, 2, 9, 9, 9, 9, 9])));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => {
    server.close();
  });
  const transport = nativeTransport();
  t.after(() => transport.close());
  const err = await transport
    .dial(`127.0.0.1:${(server.address() as net.AddressInfo).port}`)
    .call(echoHead('Echo.Say'), new Uint8Array())
    .catch((e: unknown) => e);
  assert.ok(MicroError.is(err, 502), String(err));
  assert.deepEqual(err.fault, { beforeHandler: false, reason: 'protocol' });
});

test('native: replies cut at any byte across reads, and larger than a read, reach the client whole and stay intact', async (t) => {
  // The client reads plain TCP into one reused buffer: a reply already handed out, or the start
  // of a frame still waiting for its end, must not be overwritten by the reads that follow.
  const sizes = [1, 100, 5_000, 20_000, 200_000, 3, 64 * 1024 - 9, 17];
  const bodyOf = (i: number): Buffer =>
    Buffer.from(Array.from({ length: sizes[i] }, (_, k) => (k * 7 + i * 31) & 0xff));
  const server = net.createServer((socket) => {
    let got = Buffer.alloc(0);
    socket.on('data', (c: Buffer) => {
      got = Buffer.concat([got, c]);
      const requests = frames(got);
      if (requests.length < sizes.length) return;
      // The replies in reverse order (each request's body says which), written a timer apart so
      // that each piece is a read of its own: small frames whole (handed out from the read
      // buffer), the 200 KB one cut after 5 bytes (a rest that is copied) and after 40,000 (a
      // rest that keeps its buffer), with whole and cut frames after it in the same write.
      const f = requests.map(([, id, payload]) => frame(Kind.Reply, id, bodyOf(payload.at(-1)!)));
      f.reverse();
      const big = f[3];
      const pieces = [
        f[0],
        f[1],
        f[2],
        big.subarray(0, 5),
        big.subarray(5, 40_000),
        Buffer.concat([big.subarray(40_000), f[4], f[5].subarray(0, 2)]),
        f[5].subarray(2),
        Buffer.concat([f[6], f[7]]),
      ];
      void (async () => {
        for (const piece of pieces) {
          if (socket.destroyed) return;
          socket.write(piece);
          await new Promise((r) => setTimeout(r, 5));
        }
      })();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => {
    server.close();
  });
  const transport = nativeTransport();
  t.after(() => transport.close());
  const conn = transport.dial(`127.0.0.1:${(server.address() as net.AddressInfo).port}`);
  const replies = await Promise.all(
    sizes.map((_, i) => conn.call(echoHead('Echo.Say'), new Uint8Array([i]))),
  );
  assert.equal(replies[4].byteLength, 200_000);
  for (let i = 0; i < sizes.length; i++)
    assert.ok(Buffer.from(replies[i]).equals(bodyOf(i)), `reply ${i} (${sizes[i]} bytes) intact`);
});

test('native: 200 concurrent calls share one connection', async (t) => {
  const { transport, listener, dispatcher } = await rig(t);
  const conn = transport.dial(listener.address);
  const replies = await Promise.all(
    Array.from({ length: 200 }, (_, i) =>
      conn.call(echoHead('Echo.Say'), new Uint8Array([i % 256])),
    ),
  );
  assert.deepEqual(
    replies.map((r) => r[0]),
    Array.from({ length: 200 }, (_, i) => i % 256),
  );
  assert.equal(new Set(dispatcher.calls.map((c) => c.head.remote)).size, 1);
});

test('native: a stream whose reader stalls holds its sender back, while other calls on the connection go on', async (t) => {
  const transport = nativeTransport();
  let release!: () => void;
  const released = new Promise<void>((resolve) => {
    release = resolve;
  });
  let read = 0;
  const listener = await transport.listen('127.0.0.1:0', {
    kind: (e) => (e === 'Slow.Stream' ? 'stream' : 'unary'),
    unary: async (_h, body) => body,
    stream: async (_h, stream) => {
      await released;
      for await (const _ of stream) read++;
    },
  });
  t.after(async () => {
    await listener.close();
    await transport.close();
  });
  const conn = transport.dial(listener.address);
  const stream = conn.stream(echoHead('Slow.Stream', { deadline: Infinity }));
  // More messages than a window of small ones (STREAM_WINDOW_MAX, 1,024).
  let sent = 0;
  const sending = (async () => {
    for (let i = 0; i < 3000; i++) {
      await stream.send(new Uint8Array(10));
      sent++;
    }
  })();
  await new Promise((r) => setTimeout(r, 300));
  assert.ok(sent < 3000, `all ${sent} sends completed with nobody reading`);
  assert.deepEqual([...(await conn.call(echoHead('Echo.Say'), new Uint8Array([1])))], [1]);
  release();
  await sending;
  stream.closeSend();
  for await (const _ of stream) {
    /* drain to the end */
  }
  assert.equal(read, 3000);
});

test('native: keepalive drops a peer that stopped answering, failing its calls as unavailable', async (t) => {
  // Accepts and reads, but never answers anything (a hung or partitioned peer).
  const server = net.createServer((socket) => {
    socket.resume();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => {
    server.close();
  });
  const transport = nativeTransport({ keepaliveMs: 100, keepaliveTimeoutMs: 200 });
  t.after(() => transport.close());
  const err = await transport
    .dial(`127.0.0.1:${(server.address() as net.AddressInfo).port}`)
    .call(echoHead('Echo.Say', { deadline: Date.now() + 30_000 }), new Uint8Array())
    .catch((e: unknown) => e);
  assert.ok(MicroError.is(err, 503), String(err));
  assert.deepEqual(err.fault, { beforeHandler: false, reason: 'unavailable' });
});

test('native: keepalive keeps a quiet connection to a live server', async (t) => {
  const { transport, listener, dispatcher } = await rig(t, {
    keepaliveMs: 50,
    keepaliveTimeoutMs: 200,
  });
  const conn = transport.dial(listener.address);
  await conn.call(echoHead('Echo.Say'), new Uint8Array([1]));
  await new Promise((r) => setTimeout(r, 600));
  await conn.call(echoHead('Echo.Say'), new Uint8Array([2]));
  assert.equal(
    new Set(dispatcher.calls.map((c) => c.head.remote)).size,
    1,
    'the connection was replaced',
  );
});

test('native: TLS with TlsOptions, and a plaintext client cannot talk to a TLS server', async (t) => {
  await using pki = await makeTestPki();
  const transport = nativeTransport({
    tls: { key: pki.server.key, cert: pki.server.cert, ca: pki.ca.cert, serverName: 'localhost' },
  });
  const listener = await transport.listen('127.0.0.1:0', echoDispatcher());
  const plain = nativeTransport();
  t.after(async () => {
    await listener.close();
    await transport.close();
    await plain.close();
  });
  assert.deepEqual(
    [...(await transport.dial(listener.address).call(echoHead('Echo.Say'), new Uint8Array([7])))],
    [7],
  );
  const stream = transport
    .dial(listener.address)
    .stream(echoHead('Echo.Stream', { deadline: Infinity }));
  await stream.send(new Uint8Array([8]));
  stream.closeSend();
  const got: number[] = [];
  for await (const b of stream) got.push(b[0]);
  assert.deepEqual(got, [8]);
  const err = await plain
    .dial(listener.address)
    .call(echoHead('Echo.Say', { deadline: Date.now() + 2_000 }), new Uint8Array())
    .catch((e: unknown) => e);
  assert.ok(MicroError.is(err), String(err));
  assert.ok(err.code === 503 || err.code === 502 || err.code === 408, String(err));
});

test('native: a client that does not trust the server certificate is refused before any handler runs', async (t) => {
  await using pki = await makeTestPki();
  const server = nativeTransport({
    tls: { key: pki.server.key, cert: pki.server.cert },
  });
  const dispatcher = echoDispatcher();
  const listener = await server.listen('127.0.0.1:0', dispatcher);
  const client = nativeTransport({ tls: {} });
  t.after(async () => {
    await listener.close();
    await server.close();
    await client.close();
  });
  const err = await client
    .dial(listener.address)
    .call(echoHead('Echo.Say'), new Uint8Array())
    .catch((e: unknown) => e);
  assert.ok(MicroError.is(err, 503), String(err));
  assert.equal(err.fault?.beforeHandler, true);
  assert.equal(dispatcher.calls.length, 0);
});

test('native: a connection whose TLS handshake never completes fails its calls as refused after dialTimeoutMs, not at their deadline', async (t) => {
  // A listener that accepts and then says nothing: the client's TLS hello goes unanswered.
  const sockets: net.Socket[] = [];
  const silent = net.createServer((s) => {
    sockets.push(s);
    s.on('error', () => {});
  });
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  const client = nativeTransport({ tls: {}, dialTimeoutMs: 200 });
  t.after(async () => {
    await client.close();
    for (const s of sockets) s.destroy();
    silent.close();
  });
  const { port } = silent.address() as net.AddressInfo;
  const started = Date.now();
  const err = await client
    .dial(`127.0.0.1:${port}`)
    .call(echoHead('Echo.Say', { deadline: Date.now() + 10_000 }), new Uint8Array([1]))
    .catch((e: unknown) => e);
  const tookMs = Date.now() - started;
  assert.ok(MicroError.is(err, 503), String(err));
  assert.deepEqual(err.fault, { beforeHandler: true, reason: 'refused' });
  assert.match(err.detail, /not established within 200 ms/);
  assert.ok(tookMs >= 190 && tookMs < 5_000, `failed after ${tookMs} ms`);
});
