import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { MicroError, streaming, type Service } from '../../src/index.js';
import { cluster } from '../helpers/services.js';

const c = cluster();
let caller: Service;

before(async () => {
  const server = c.service({ name: 'chat' });
  server.handle('Chat', {
    Echo: streaming<{ n: number }, { n: number; from: string }>(async (stream, ctx) => {
      for await (const msg of stream) await stream.send({ n: msg.n, from: ctx.service });
    }),
    Sum: streaming<{ n: number }, { sum: number }>(async (stream) => {
      let sum = 0;
      for await (const msg of stream) {
        if (msg.n < 0) throw MicroError.badRequest('chat', `negative: ${msg.n}`);
        sum += msg.n;
      }
      await stream.send({ sum });
    }),
    async Unary() {
      return {};
    },
  });
  await server.start();
  caller = c.service({ name: 'caller' });
});
after(() => c.stopAll());

test('a bidi stream echoes 1,000 messages in order', async () => {
  const stream = await caller.client.stream<{ n: number }, { n: number; from: string }>(
    'chat',
    'Chat.Echo',
  );
  const received: number[] = [];
  const reading = (async () => {
    for await (const m of stream) received.push(m.n);
  })();
  for (let n = 0; n < 1000; n++) await stream.send({ n });
  stream.closeSend();
  await reading;
  assert.deepEqual(
    received,
    Array.from({ length: 1000 }, (_, n) => n),
  );
});

test('a client-streaming exchange gets one answer after closeSend', async () => {
  const stream = await caller.client.stream<{ n: number }, { sum: number }>('chat', 'Chat.Sum');
  for (const n of [1, 2, 3, 4]) await stream.send({ n });
  stream.closeSend();
  assert.deepEqual(await stream.recv(), { sum: 10 });
  assert.equal(await stream.recv(), undefined);
});

test('an error thrown mid-stream reaches the client as a MicroError', async () => {
  const stream = await caller.client.stream<{ n: number }, { sum: number }>('chat', 'Chat.Sum');
  await stream.send({ n: 1 });
  await stream.send({ n: -1 });
  stream.closeSend();
  await assert.rejects(
    stream.recv(),
    (err: unknown) => MicroError.is(err, 400) && err.detail === 'negative: -1' && err.id === 'chat',
  );
});

test('streaming an unknown endpoint is a 404 naming it', async () => {
  const unknown = await caller.client.stream('chat', 'Chat.Nope');
  unknown.closeSend();
  await assert.rejects(
    unknown.recv(),
    (err: unknown) => MicroError.is(err, 404) && /Chat\.Nope/.test(err.detail),
  );
});

test('streaming a unary endpoint fails with a typed error, not a hang', async () => {
  // gRPC cannot tell the server how the client meant to call: grpc-js answers that the unary
  // method got no request message.
  const unary = await caller.client.stream('chat', 'Chat.Unary');
  unary.closeSend();
  await assert.rejects(unary.recv(), (err: unknown) => MicroError.is(err) && err.code >= 400);
});
