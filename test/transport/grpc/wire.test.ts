// The gRPC transport against plain grpc-js peers: what goes on the wire, both directions.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import * as grpc from '@grpc/grpc-js';
import { DeadlineExceeded } from '../../../src/context.js';
import { InvalidOptionError, MicroError, SERVER_ERROR_ID } from '../../../src/errors.js';
import { grpcTransport } from '../../../src/transport/grpc/grpc.js';
import type { Connection, InboundHead } from '../../../src/transport/transport.js';
import { aborted, echoHead } from '../../fixtures/transport-conformance.js';
import { echoDispatcher, type EchoDispatcher } from '../../fixtures/transport-echo.js';
import { frame, rawRequest } from '../../fuzz/raw-grpc.js';

const identity = (b: Buffer): Buffer => b;

/** An echo server on the gRPC transport and a plain grpc-js client to it. */
async function plainClientRig(
  t: TestContext,
): Promise<{ client: grpc.Client; dispatcher: EchoDispatcher }> {
  const transport = grpcTransport();
  const dispatcher = echoDispatcher();
  const listener = await transport.listen('127.0.0.1:0', dispatcher);
  const client = new grpc.Client(listener.address, grpc.credentials.createInsecure());
  t.after(async () => {
    client.close();
    await listener.close();
  });
  return { client, dispatcher };
}

/**
 * A plain grpc-js server with the handlers `register` adds, and the gRPC transport's connection to
 * it.
 */
async function plainServerRig(
  t: TestContext,
  register: (server: grpc.Server) => void,
): Promise<Connection> {
  const server = new grpc.Server();
  register(server);
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) =>
      err ? reject(err) : resolve(p),
    );
  });
  const transport = grpcTransport();
  t.after(async () => {
    await transport.close();
    server.forceShutdown();
  });
  return transport.dial(`127.0.0.1:${port}`);
}

interface Outcome {
  value?: Buffer;
  error?: grpc.ServiceError;
}

function unary(
  client: grpc.Client,
  path: string,
  md: Record<string, string | string[]> = {},
  deadline: number = Date.now() + 5_000,
  body = Buffer.from('hi'),
): Promise<Outcome> {
  const metadata = new grpc.Metadata();
  for (const [k, v] of Object.entries(md)) for (const one of [v].flat()) metadata.add(k, one);
  return new Promise((resolve) => {
    client.makeUnaryRequest(
      path,
      identity,
      identity,
      body,
      metadata,
      { deadline },
      (error, value) => {
        resolve(error ? { error } : { value: value! });
      },
    );
  });
}

const headOf = (o: Outcome): InboundHead => JSON.parse(o.value!.toString()) as InboundHead;

test('grpc wire: a plain client reaches Echo.Say through any package prefix', async (t) => {
  const { client } = await plainClientRig(t);
  for (const path of ['/anything.Echo/Say', '/a.b.c.Echo/Say', '/Echo/Say']) {
    const out = await unary(client, path);
    assert.equal(out.value?.toString(), 'hi', path);
  }
  const head = headOf(await unary(client, '/anything.at.all.Echo/Head'));
  assert.equal(head.endpoint, 'Echo.Head');
  assert.equal(head.service, 'anything.at.all');
  assert.equal(head.contentType, 'application/grpc', "no x-content-type: go-micro's default");
  assert.match(head.remote ?? '', /^127\.0\.0\.1:\d+$/);
});

test('grpc wire: an unknown endpoint is NOT_FOUND carrying the go-micro error JSON, not UNIMPLEMENTED', async (t) => {
  const { client } = await plainClientRig(t);
  const { error } = await unary(client, '/pkg.Nope/Nope');
  assert.equal(error?.code, grpc.status.NOT_FOUND);
  assert.deepEqual(JSON.parse(error.details), {
    id: SERVER_ERROR_ID,
    code: 404,
    detail: 'unknown endpoint Nope.Nope',
    status: 'Not Found',
  });
});

test('grpc wire: a malformed path is INVALID_ARGUMENT (400)', async (t) => {
  const { client } = await plainClientRig(t);
  for (const path of ['/a/b/c', '/pkg./Say']) {
    const { error } = await unary(client, path);
    assert.equal(error?.code, grpc.status.INVALID_ARGUMENT, path);
    assert.equal(MicroError.fromJSON(error.details).code, 400);
  }
});

test('grpc wire: handler errors map to the gRPC status table, the exact code in the message', async (t) => {
  const { client } = await plainClientRig(t);
  for (const [code, status] of [
    [400, 3],
    [401, 16],
    [403, 7],
    [408, 4],
    [409, 6],
    [500, 13],
    [501, 12],
    [503, 14],
    [418, 2],
  ] as const) {
    const { error } = await unary(client, '/x.Echo/Say', { 'fail-with-code': String(code) });
    assert.equal(error?.code, status, `code ${code}`);
    assert.equal(MicroError.fromJSON(error.details).code, code);
  }
});

test('grpc wire: the smaller of grpc-timeout and the `timeout` metadata (ns) is the deadline', async (t) => {
  const { client } = await plainClientRig(t);
  /**
   * The deadline the handler saw, with the window it must fall in: a budget travels as a
   * duration, so the server's deadline is its arrival time (between send and reply) + budget.
   */
  async function seen(
    md: Record<string, string>,
    grpcBudgetMs: number,
  ): Promise<{ deadline: number; sent: number; replied: number }> {
    const sent = Date.now();
    const head = headOf(await unary(client, '/x.Echo/Head', md, sent + grpcBudgetMs));
    return { deadline: head.deadline ?? Infinity, sent, replied: Date.now() };
  }
  const within = (
    r: { deadline: number; sent: number; replied: number },
    budget: number,
  ): boolean => r.deadline >= r.sent + budget - 5 && r.deadline <= r.replied + budget;

  const byMetadata = await seen({ timeout: String(200 * 1e6) }, 60_000);
  assert.ok(within(byMetadata, 200), `metadata budget: ${JSON.stringify(byMetadata)}`);
  const byGrpc = await seen({ timeout: String(60e9) }, 3_000);
  assert.ok(within(byGrpc, 3_000), `grpc-timeout budget: ${JSON.stringify(byGrpc)}`);
  const unparsable = await seen({ timeout: '5s' }, 3_000);
  assert.ok(within(unparsable, 3_000), `unparsable timeout ignored: ${JSON.stringify(unparsable)}`);
  const none = headOf(await unary(client, '/x.Echo/Head', {}, Infinity));
  assert.equal(none.deadline, null, 'Infinity (JSON null): no deadline at all');
});

test("grpc wire: the `timeout` metadata alone ends the call with the server's 408", async (t) => {
  const { client, dispatcher } = await plainClientRig(t);
  const started = dispatcher.nextCall();
  const out = unary(
    client,
    '/x.Echo/Say',
    { timeout: String(150 * 1e6), 'delay-ms': '60000' },
    Date.now() + 60_000,
  );
  const call = await started;
  assert.ok((await aborted(call.signal)) instanceof DeadlineExceeded);
  const { error } = await out;
  assert.equal(error?.code, grpc.status.DEADLINE_EXCEEDED);
  assert.deepEqual(JSON.parse(error.details), {
    id: SERVER_ERROR_ID,
    code: 408,
    detail: 'deadline exceeded',
    status: 'Request Timeout',
  });
});

test('grpc wire: repeated metadata values are joined with ", " and binary keys are skipped', async (t) => {
  const { client } = await plainClientRig(t);
  const metadata = new grpc.Metadata();
  metadata.add('multi', 'a');
  metadata.add('multi', 'b');
  metadata.add('blob-bin', Buffer.from([1, 2]));
  metadata.add('x-content-type', 'application/grpc+json');
  const out = await new Promise<Buffer>((resolve, reject) => {
    client.makeUnaryRequest(
      '/x.Echo/Head',
      identity,
      identity,
      Buffer.alloc(0),
      metadata,
      (err, value) => (err ? reject(err) : resolve(value!)),
    );
  });
  const head = JSON.parse(out.toString()) as InboundHead;
  assert.deepEqual(head.metadata, { multi: 'a, b' });
  assert.equal(head.contentType, 'application/grpc+json');
});

test("grpc wire: the client sends go-micro's path, `timeout` in integer ns and x-content-type", async (t) => {
  const seen: { path: string; metadata: Record<string, unknown> }[] = [];
  const conn = await plainServerRig(t, (server) =>
    server.register(
      '/echo.Echo/Say',
      (call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) => {
        seen.push({ path: call.getPath(), metadata: call.metadata.getMap() });
        callback(null, call.request);
      },
      identity,
      identity,
      'unary',
    ),
  );
  const reply = await conn.call(
    echoHead('Echo.Say', { deadline: Date.now() + 2_000, metadata: { 'x-user': 'ann' } }),
    new Uint8Array([4, 2]),
  );
  assert.deepEqual([...reply], [4, 2]);
  const { path, metadata } = seen[0];
  assert.equal(path, '/echo.Echo/Say');
  assert.equal(metadata['x-content-type'], 'application/grpc+json');
  assert.equal(metadata['x-user'], 'ann');
  assert.match(String(metadata.timeout), /^\d+$/);
  const ns = Number(metadata.timeout);
  assert.ok(ns > 1_500e6 && ns <= 2_000e6, `timeout ${ns} ns`);
});

test('grpc wire: a plain status from a non-go-micro server maps back from the gRPC code', async (t) => {
  const conn = await plainServerRig(t, (server) =>
    server.register(
      '/echo.Echo/Say',
      (_call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) => {
        callback({ code: grpc.status.UNAVAILABLE, details: 'overloaded' });
      },
      identity,
      identity,
      'unary',
    ),
  );
  const err = await conn.call(echoHead('Echo.Say'), new Uint8Array()).catch((e: unknown) => e);
  assert.ok(MicroError.is(err), String(err));
  assert.deepEqual(err.toJSON(), {
    id: 'go.micro.client',
    code: 503,
    detail: 'overloaded',
    status: 'Service Unavailable',
  });
  assert.equal(err.fault, undefined, 'the peer answered: not a transport fault');
  const missing = await conn.call(echoHead('Nope.Nope'), new Uint8Array()).catch((e: unknown) => e);
  assert.ok(MicroError.is(missing, 501), String(missing));
});

test('grpc wire: IPv6 addresses are bracketed, both the bound address and the peer', async (t) => {
  const transport = grpcTransport();
  const listener = await transport.listen('[::1]:0', echoDispatcher()).catch(() => undefined);
  if (!listener) {
    t.skip('no IPv6 loopback on this host');
    return;
  }
  t.after(async () => {
    await transport.close();
    await listener.close();
  });
  assert.match(listener.address, /^\[::1\]:\d+$/);
  const head = JSON.parse(
    new TextDecoder().decode(
      await transport.dial(listener.address).call(echoHead('Echo.Head'), new Uint8Array()),
    ),
  ) as InboundHead;
  assert.match(head.remote ?? '', /^\[::1\]:\d+$/);
});

test('grpc wire: a unary reply with no message, or with two, is a 501 from the client, not a hang or a value', async (t) => {
  // Handlers registered as bidi so they can break unary's one-message shape on purpose.
  const conn = await plainServerRig(t, (server) => {
    server.register(
      '/echo.Echo/None',
      (call: grpc.ServerDuplexStream<Buffer, Buffer>) => {
        call.on('data', () => {}).on('end', () => call.end());
      },
      identity,
      identity,
      'bidi',
    );
    server.register(
      '/echo.Echo/Twice',
      (call: grpc.ServerDuplexStream<Buffer, Buffer>) => {
        call
          .on('data', () => {})
          .on('end', () => {
            call.write(Buffer.from('a'));
            call.write(Buffer.from('b'));
            call.end();
          });
      },
      identity,
      identity,
      'bidi',
    );
  });
  for (const endpoint of ['Echo.None', 'Echo.Twice']) {
    const err = await conn
      .call(echoHead(endpoint, { deadline: Date.now() + 2_000 }), new Uint8Array([1]))
      .catch((e: unknown) => e);
    assert.ok(MicroError.is(err, 501), `${endpoint}: ${String(err)}`);
    assert.match(
      err.detail,
      endpoint === 'Echo.None' ? /No message received/ : /Too many responses/,
    );
  }
});

test('grpc wire: grpc-js client interceptors in channelOptions are refused, naming the option, since unary calls bypass them', () => {
  const interceptor: grpc.Interceptor = (options, next) => new grpc.InterceptingCall(next(options));
  for (const [key, value] of [
    ['interceptors', [interceptor]],
    ['interceptor_providers', [() => interceptor]],
    ['callInvocationTransformer', (p: unknown) => p],
  ] as const) {
    assert.throws(
      () => grpcTransport({ channelOptions: { [key]: value } }),
      (err: unknown) =>
        err instanceof InvalidOptionError && err.option === `grpcTransport.channelOptions.${key}`,
      key,
    );
  }
  assert.doesNotThrow(() =>
    grpcTransport({ channelOptions: { 'grpc.keepalive_time_ms': 600_000 } }),
  );
});

test('grpc wire: a `__proto__` metadata key is dropped, and the call is answered with the rest of its metadata', async (t) => {
  const transport = grpcTransport();
  const listener = await transport.listen('127.0.0.1:0', echoDispatcher());
  const session = http2.connect(`http://${listener.address}`);
  t.after(async () => {
    session.close();
    await listener.close();
  });
  // Raw HTTP/2, since grpc-js's own client cannot send this key: JSON.parse makes `__proto__` an
  // own key, as a hostile client can send it.
  const headers = JSON.parse('{"__proto__":"vvvvvv","x-user":"ann"}') as Record<string, string>;
  const answer = await rawRequest(session, '/x.Echo/Head', headers, frame(Buffer.alloc(0)));
  assert.equal(answer.grpcStatus, 0, answer.grpcMessage);
  const head = JSON.parse(answer.body.subarray(5).toString()) as InboundHead;
  assert.deepEqual(head.metadata, { 'x-user': 'ann' });
});
