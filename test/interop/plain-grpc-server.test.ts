import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createService, memoryRegistry, MicroError, type Service } from '../../src/index.js';
import { protoCodec } from '../../src/codec/proto.js';
import { startFixture, type Fixture } from '../helpers/processes.js';
import { HELLO_PROTO } from '../helpers/protos.js';
import { quietLogger } from '../helpers/services.js';

// A tsmicro client calls a plain @grpc/grpc-js server (test/fixtures/plain-grpc-server.ts, no
// tsmicro in it) by address, with the proto codec. The service name is the proto package, so
// go-micro's path mapping gives the server's own paths: `/helloworld.Greeter/SayHello`.

let server: Fixture;
let address: string;
let caller: Service;

before(async () => {
  server = startFixture('plain-grpc-server');
  address = (await server.waitForLine(/^ready (\S+)$/))[1]!;
  caller = createService({
    name: 'caller',
    registry: memoryRegistry(),
    logger: quietLogger(),
    codecs: [protoCodec({ protos: HELLO_PROTO })],
  });
});
after(async () => {
  await caller?.stop();
  await server?.kill('SIGTERM');
});

test('unary call by address: protobuf request and typed reply', async () => {
  const rsp = await caller.client.call<{ message: string; visits: string; mood: string }>(
    'helloworld',
    'Greeter.SayHello',
    { name: 'Ada', visits: '21', mood: 'GRUMPY' },
    { address: [address] },
  );
  assert.deepEqual(rsp, { message: 'plain hello Ada', visits: '42', mood: 'GRUMPY' });
});

test('a plain gRPC status becomes a MicroError with the code mapped back (go-micro v5)', async () => {
  const err = await caller.client
    .call('helloworld', 'Greeter.SayHello', { name: 'nobody' }, { address: [address], retries: 0 })
    .then(
      () => undefined,
      (e: unknown) => e,
    );
  assert.ok(MicroError.is(err, 404), `got ${String(err)}`);
  assert.equal(err.detail, 'nobody lives here');
  assert.equal(err.fault, undefined, 'an answer from the server, not a transport fault');
});

test('server-streaming and bidi methods through client.stream()', async () => {
  const countdown = await caller.client.stream<{ from: number }, { n: number }>(
    'helloworld',
    'Greeter.Countdown',
    { address: [address] },
  );
  await countdown.send({ from: 3 });
  countdown.closeSend();
  const ns: number[] = [];
  for await (const m of countdown) ns.push(m.n);
  assert.deepEqual(ns, [3, 2, 1, 0]);

  const chat = await caller.client.stream<
    { seq: number; text: string },
    { seq: number; text: string }
  >('helloworld', 'Greeter.Chat', { address: [address] });
  const echoed: string[] = [];
  for (let i = 0; i < 3; i++) {
    await chat.send({ seq: i, text: `m${i}` });
    const r = await chat.recv();
    echoed.push(`${r!.seq}:${r!.text}`);
  }
  chat.closeSend();
  assert.equal(await chat.recv(), undefined);
  assert.deepEqual(echoed, ['0:m0!', '1:m1!', '2:m2!']);
});

test('a request the codec cannot encode fails on the client with a 400 before anything is sent', async () => {
  const err = await caller.client
    .call('helloworld', 'Greeter.Unknown', { name: 'x' }, { address: [address] })
    .then(
      () => undefined,
      (e: unknown) => e,
    );
  assert.ok(MicroError.is(err, 400), `got ${String(err)}`);
  assert.match(err.detail, /no protobuf request type for Greeter\.Unknown/);
});
