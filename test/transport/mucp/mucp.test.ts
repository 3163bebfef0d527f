// The mucp transport (go-micro's RPC protocol over its HTTP transport) between tsmicro services,
// over real sockets: what the node advertises, unary calls, errors, metadata, deadlines, streams,
// and a listener fed bytes that are not go-micro's HTTP/1.1.
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import {
  MicroError,
  createService,
  memoryRegistry,
  remaining,
  streaming,
  type HandlerContext,
  type Service,
} from '../../../src/index.js';
import { dualPathTransport, NATIVE_PORT_KEY } from '../../../src/transport/dual-path.js';
import { grpcTransport } from '../../../src/transport/grpc/grpc.js';
import { mucpTransport } from '../../../src/transport/mucp/mucp.js';
import { quietLogger } from '../../helpers/services.js';

/** Sends `bytes` on a fresh connection and returns everything the server wrote until it closed. */
async function raw(address: string, bytes: string | Buffer, end = false): Promise<string> {
  const [host, port] = [address.slice(0, address.lastIndexOf(':')), address.split(':').pop()];
  const sock = net.connect({ host, port: Number(port) });
  const chunks: Buffer[] = [];
  sock.on('data', (c: Buffer) => chunks.push(c));
  await new Promise((r) => sock.once('connect', r));
  sock.write(bytes);
  if (end) sock.end();
  await new Promise((r) => sock.once('close', r));
  return Buffer.concat(chunks).toString('utf8');
}

/** One request on a fresh connection, read until the first whole response arrives. */
async function oneRequest(address: string, headers: Record<string, string>, body: string) {
  const [host, port] = [address.slice(0, address.lastIndexOf(':')), address.split(':').pop()];
  const sock = net.connect({ host, port: Number(port) });
  await new Promise((r) => sock.once('connect', r));
  let text = `POST / HTTP/1.1\r\nHost: ${address}\r\n`;
  for (const [k, v] of Object.entries(headers)) text += `${k}: ${v}\r\n`;
  sock.write(`${text}Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
  let got = '';
  for await (const c of sock as AsyncIterable<Buffer>) {
    got += c.toString('utf8');
    const end = got.indexOf('\r\n\r\n');
    if (end < 0) continue;
    const len = Number(/content-length: (\d+)/i.exec(got.slice(0, end))?.[1] ?? 0);
    if (got.length >= end + 4 + len) break;
  }
  sock.destroy();
  const [head, ...rest] = got.split('\r\n\r\n');
  const lines = head.split('\r\n');
  const h: Record<string, string> = {};
  for (const l of lines.slice(1))
    h[l.slice(0, l.indexOf(':')).toLowerCase()] = l.slice(l.indexOf(':') + 1).trim();
  return { status: lines[0], headers: h, body: rest.join('\r\n\r\n') };
}

describe('mucp transport between tsmicro services', () => {
  const registry = memoryRegistry();
  let server: Service;
  let client: Service;
  let address: string;

  before(async () => {
    server = createService({
      name: 'mucp.echo',
      registry,
      transport: mucpTransport(),
      logger: quietLogger(),
    });
    server.handle('Greeter', {
      async Hello(req: { name: string }, ctx: HandlerContext) {
        return { msg: `Hello ${req.name}`, metadata: ctx.metadata, budgetMs: remaining(ctx) };
      },
      async Fail(req: { why: string }) {
        throw new MicroError('mucp.echo.fail', 409, `refused: ${req.why} — é`);
      },
      async Slow(_req: unknown, ctx: HandlerContext) {
        await new Promise((resolve) => {
          const t = setTimeout(resolve, 30_000);
          ctx.signal.addEventListener('abort', () => {
            clearTimeout(t);
            resolve(undefined);
          });
        });
        return { late: true };
      },
    });
    server.handle('Counter', {
      Countdown: streaming<{ from: number }, { n: number }>(async (stream) => {
        for await (const m of stream) for (let n = m.from; n >= 1; n--) await stream.send({ n });
      }),
      Chat: streaming<{ seq: number }, { seq: number }>(async (stream) => {
        for await (const m of stream) await stream.send({ seq: m.seq * 2 });
      }),
      Broken: streaming<{ seq: number }, { seq: number }>(async (stream) => {
        for await (const m of stream) {
          await stream.send({ seq: m.seq });
          throw new MicroError('mucp.echo.broken', 422, 'no more');
        }
      }),
    });
    await server.start();
    client = createService({
      name: 'mucp.caller',
      registry,
      transport: mucpTransport(),
      logger: quietLogger(),
    });
    const [node] = (await registry.getService('mucp.echo'))[0].nodes;
    address = node.address;
  });
  after(async () => {
    await client?.stop();
    await server?.stop();
  });

  test("the node says what go-micro's rpc server says: transport=http, protocol=mucp, server=mucp", async () => {
    const [node] = (await registry.getService('mucp.echo'))[0].nodes;
    assert.equal(node.metadata.transport, 'http');
    assert.equal(node.metadata.protocol, 'mucp');
    assert.equal(node.metadata.server, 'mucp');
  });

  test('a client on the default transport (dualPath, gRPC first) calls a node that offers only mucp over mucp', async () => {
    const fallback = createService({ name: 'mucp.default', registry, logger: quietLogger() });
    try {
      assert.deepEqual(
        (
          await fallback.client.call<{ msg: string }>('mucp.echo', 'Greeter.Hello', {
            name: 'dflt',
          })
        ).msg,
        'Hello dflt',
      );
      const down = await fallback.client.stream<{ from: number }, { n: number }>(
        'mucp.echo',
        'Counter.Countdown',
      );
      await down.send({ from: 2 });
      down.closeSend();
      const got: number[] = [];
      for await (const m of down) got.push(m.n);
      assert.deepEqual(got, [2, 1]);
    } finally {
      await fallback.stop();
    }
  });

  test('a unary call, its metadata and its deadline cross', async () => {
    const reply = await client.client.call<{
      msg: string;
      metadata: Record<string, string>;
      budgetMs: number;
    }>(
      'mucp.echo',
      'Greeter.Hello',
      { name: 'mucp' },
      { metadata: { 'x-request-id': 'r-1', Tenant: 'acme' }, timeoutMs: 4321 },
    );
    assert.equal(reply.msg, 'Hello mucp');
    assert.equal(reply.metadata['x-request-id'], 'r-1');
    assert.equal(reply.metadata['tenant'], 'acme');
    for (const k of ['timeout', 'micro-service', 'micro-endpoint', 'content-type', 'host'])
      assert.equal(reply.metadata[k], undefined, k);
    assert.ok(
      reply.budgetMs <= 4321 && reply.budgetMs > 4321 - 600_000,
      `budget ${reply.budgetMs}`,
    );
  });

  test('many calls in parallel each get their own answer', async () => {
    const names = Array.from({ length: 50 }, (_, i) => `n${i}`);
    const replies = await Promise.all(
      names.map((name) =>
        client.client.call<{ msg: string }>('mucp.echo', 'Greeter.Hello', { name }),
      ),
    );
    assert.deepEqual(
      replies.map((r) => r.msg),
      names.map((n) => `Hello ${n}`),
    );
  });

  test('a MicroError arrives with its id, code, detail and status', async () => {
    await assert.rejects(
      client.client.call('mucp.echo', 'Greeter.Fail', { why: 'quota' }),
      (err) => {
        assert.ok(MicroError.is(err));
        assert.deepEqual(err.toJSON(), {
          id: 'mucp.echo.fail',
          code: 409,
          detail: 'refused: quota — é',
          status: 'Conflict',
        });
        return true;
      },
    );
  });

  test('an unknown endpoint is a 404 MicroError', async () => {
    await assert.rejects(client.client.call('mucp.echo', 'Greeter.Nope', {}), (err) => {
      assert.ok(MicroError.is(err, 404), String(err));
      return true;
    });
  });

  test("the deadline is enforced: the caller gets a 408 and the handler's signal aborts", async () => {
    await assert.rejects(
      client.client.call('mucp.echo', 'Greeter.Slow', {}, { timeoutMs: 300, retries: 0 }),
      (err) => {
        assert.ok(MicroError.is(err, 408), String(err));
        return true;
      },
    );
  });

  test('a server stream and a bidi stream', async () => {
    const down = await client.client.stream<{ from: number }, { n: number }>(
      'mucp.echo',
      'Counter.Countdown',
    );
    await down.send({ from: 3 });
    down.closeSend();
    const got: number[] = [];
    for await (const m of down) got.push(m.n);
    assert.deepEqual(got, [3, 2, 1]);

    const chat = await client.client.stream<{ seq: number }, { seq: number }>(
      'mucp.echo',
      'Counter.Chat',
    );
    const seen: number[] = [];
    for (const seq of [1, 2, 3]) {
      await chat.send({ seq });
      const it = await chat[Symbol.asyncIterator]().next();
      seen.push((it.value as { seq: number }).seq);
    }
    chat.closeSend();
    for await (const m of chat) seen.push(m.seq);
    assert.deepEqual(seen, [2, 4, 6]);
  });

  test("a stream handler's error reaches the client after the messages sent before it", async () => {
    const s = await client.client.stream<{ seq: number }, { seq: number }>(
      'mucp.echo',
      'Counter.Broken',
    );
    await s.send({ seq: 7 });
    const got: number[] = [];
    await assert.rejects(
      (async () => {
        for await (const m of s) got.push(m.seq);
      })(),
      (err) => {
        assert.ok(MicroError.is(err, 422), String(err));
        assert.equal(err.detail, 'no more');
        return true;
      },
    );
    assert.deepEqual(got, [7]);
  });

  test('malformed HTTP gets a 400 with a MicroError and the connection closes; the server keeps serving', async () => {
    const answers = await Promise.all([
      raw(address, 'NOT HTTP AT ALL\r\n\r\n'),
      raw(address, 'POST / HTTP/1.1\r\nContent-Length: zebra\r\n\r\n'),
      raw(address, 'POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\nzz\r\n'),
      raw(address, 'POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 2\r\n\r\n{}'),
      raw(address, Buffer.from([0x16, 0x03, 0x01, 0x00, 0x05, 0x01, 0x00, 0x00, 0x01, 0x00])),
      raw(address, 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'),
    ]);
    for (const a of answers) {
      assert.match(a, /^HTTP\/1\.1 400 Bad Request\r\n/, a);
      const err = /Micro-Error: (.*)\r\n/.exec(a)?.[1];
      assert.ok(err, a);
      assert.equal((JSON.parse(err) as { code: number }).code, 400);
    }
    assert.deepEqual(
      await client.client
        .call('mucp.echo', 'Greeter.Hello', { name: 'still' }, { timeoutMs: 5000 })
        .then((r) => (r as { msg: string }).msg),
      'Hello still',
    );
  });

  test('a bad mucp request and a good one on the same connection: a typed error, then the answer', async () => {
    const sock = net.connect({ host: '127.0.0.1', port: Number(address.split(':').pop()) });
    await new Promise((r) => sock.once('connect', r));
    const req = (headers: string, body: string): string =>
      `POST / HTTP/1.1\r\nHost: x\r\n${headers}Content-Length: ${body.length}\r\n\r\n${body}`;
    sock.write(
      req('Content-Type: application/json\r\n', '{}') +
        // Chunked, as Go frames a body whose length it did not know.
        'POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nMicro-Endpoint: Greeter.Hello\r\n' +
        'Transfer-Encoding: chunked\r\n\r\n5\r\n{"nam\r\n9\r\ne":"two"}\r\n0\r\n\r\n',
    );
    let got = '';
    for await (const c of sock as AsyncIterable<Buffer>) {
      got += c.toString('utf8');
      if (/Hello two/.test(got)) break;
    }
    sock.destroy();
    const responses = got.split(/(?=HTTP\/1\.1 )/);
    assert.equal(responses.length, 2, got);
    assert.match(
      responses[0],
      /^HTTP\/1\.1 200 OK\r\n[^]*Micro-Error: \{"id":"go.micro.server","code":400,/,
    );
    assert.match(responses[1], /^HTTP\/1\.1 200 OK\r\n[^]*\r\n\r\n\{"msg":"Hello two"/);
  });

  test('a client that sends and then ends its side gets every answer, then the connection closes', async () => {
    const req = (name: string): string => {
      const body = JSON.stringify({ name });
      return `POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nMicro-Endpoint: Greeter.Hello\r\nContent-Length: ${body.length}\r\n\r\n${body}`;
    };
    const got = await raw(address, req('one') + req('two'), true);
    assert.match(
      got,
      /^HTTP\/1\.1 200 OK\r\n[^]*"msg":"Hello one"[^]*HTTP\/1\.1 200 OK\r\n[^]*"msg":"Hello two"/,
    );
  });

  test('a request that starts inside one read and ends in the next is served (the next read starts mid-message)', async () => {
    const req = (name: string): string => {
      const body = JSON.stringify({ name });
      return `POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nMicro-Endpoint: Greeter.Hello\r\nContent-Length: ${body.length}\r\n\r\n${body}`;
    };
    const second = req('two');
    // The second write starts at the body's `{`: a byte that cannot start a message. Written
    // apart (no delay, a pause between), the server reads them apart; read together, the test
    // holds all the same.
    const cut = second.indexOf('{');
    const sock = net.connect({ host: '127.0.0.1', port: Number(address.split(':').pop()) });
    sock.setNoDelay(true);
    await new Promise((r) => sock.once('connect', r));
    sock.write(req('one') + second.slice(0, cut));
    await new Promise((r) => setTimeout(r, 100));
    sock.write(second.slice(cut));
    let got = '';
    for await (const c of sock as AsyncIterable<Buffer>) {
      got += c.toString('utf8');
      if (/Hello two|Micro-Error/.test(got)) break;
    }
    sock.destroy();
    assert.match(got, /"msg":"Hello one"[^]*"msg":"Hello two"/, got);
  });

  test('well-formed HTTP that is not a good mucp request gets a typed error', async () => {
    const none = await oneRequest(address, { 'Content-Type': 'application/json' }, '{}');
    assert.equal(none.status, 'HTTP/1.1 200 OK');
    assert.equal((JSON.parse(none.headers['micro-error']) as { code: number }).code, 400);
    const badTimeout = await oneRequest(
      address,
      { 'Content-Type': 'application/json', 'Micro-Endpoint': 'Greeter.Hello', Timeout: 'soon' },
      '{}',
    );
    assert.match(
      (JSON.parse(badTimeout.headers['micro-error']) as { detail: string }).detail,
      /^Timeout header "soon" is not/,
    );
    const badJson = await oneRequest(
      address,
      { 'Content-Type': 'application/json', 'Micro-Endpoint': 'Greeter.Hello' },
      '{not json',
    );
    assert.equal(
      (JSON.parse(badJson.headers['micro-error']) as { code: number }).code,
      400,
      badJson.headers['micro-error'],
    );
    // A body over the limit (4 MiB) is read past, not buffered: a 413, and framing is intact.
    const big = await oneRequest(
      address,
      { 'Content-Type': 'application/json', 'Micro-Endpoint': 'Greeter.Hello' },
      `"${'x'.repeat(5 * 1024 * 1024)}"`,
    );
    assert.equal(big.status, 'HTTP/1.1 200 OK');
    assert.equal((JSON.parse(big.headers['micro-error']) as { code: number }).code, 413);
    const badType = await oneRequest(
      address,
      { 'Content-Type': 'text/x-nonsense', 'Micro-Endpoint': 'Greeter.Hello' },
      '{}',
    );
    assert.ok(badType.headers['micro-error'], JSON.stringify(badType));
    const ok = await oneRequest(
      address,
      {
        'Content-Type': 'application/json',
        'Micro-Endpoint': 'Greeter.Hello',
        Timeout: '5000000000',
        'X-Trace': 't-1',
      },
      '{"name":"raw"}',
    );
    assert.equal(ok.headers['micro-error'], undefined);
    assert.equal(ok.headers['content-type'], 'application/json');
    const reply = JSON.parse(ok.body) as {
      msg: string;
      metadata: Record<string, string>;
      budgetMs: number;
    };
    assert.equal(reply.msg, 'Hello raw');
    assert.equal(reply.metadata['x-trace'], 't-1');
    assert.ok(reply.budgetMs <= 5000);
  });
});

test('dualPath with mucp as its standard path: go-micro rpc clients get mucp at the node address, tsmicro clients the native port', async (t) => {
  const registry = memoryRegistry();
  const server = createService({
    name: 'mucp.dual',
    registry,
    transport: dualPathTransport({ grpc: mucpTransport() }),
    logger: quietLogger(),
  });
  server.handle('Greeter', { Hello: (req: { name: string }) => ({ msg: `Hello ${req.name}` }) });
  await server.start();
  const mucpOnly = createService({
    name: 'mucp.only',
    registry,
    transport: mucpTransport(),
    logger: quietLogger(),
  });
  const dual = createService({
    name: 'mucp.dualcaller',
    registry,
    transport: dualPathTransport({ grpc: mucpTransport() }),
    logger: quietLogger(),
  });
  t.after(async () => {
    await dual.stop();
    await mucpOnly.stop();
    await server.stop();
  });
  const [node] = (await registry.getService('mucp.dual'))[0].nodes;
  assert.equal(node.metadata.protocol, 'mucp');
  assert.equal(node.metadata.transport, 'http');
  assert.match(node.metadata[NATIVE_PORT_KEY] ?? '', /^[1-9]\d*$/);
  // The node address answers go-micro's HTTP/1.1: a raw POST there is served.
  const ok = await oneRequest(
    node.address,
    { 'Content-Type': 'application/json', 'Micro-Endpoint': 'Greeter.Hello' },
    '{"name":"raw"}',
  );
  assert.equal((JSON.parse(ok.body) as { msg: string }).msg, 'Hello raw');
  assert.deepEqual(await mucpOnly.client.call('mucp.dual', 'Greeter.Hello', { name: 'm' }), {
    msg: 'Hello m',
  });
  assert.deepEqual(await dual.client.call('mucp.dual', 'Greeter.Hello', { name: 'd' }), {
    msg: 'Hello d',
  });
  // And an mucp-first client reaches a gRPC-only node (protocol=grpc) over gRPC.
  const grpcOnly = createService({
    name: 'mucp.grpconly',
    registry,
    transport: grpcTransport(),
    logger: quietLogger(),
  });
  grpcOnly.handle('Greeter', { Hello: (req: { name: string }) => ({ msg: `gRPC ${req.name}` }) });
  await grpcOnly.start();
  t.after(() => grpcOnly.stop());
  assert.deepEqual(await dual.client.call('mucp.grpconly', 'Greeter.Hello', { name: 'g' }), {
    msg: 'gRPC g',
  });
});
