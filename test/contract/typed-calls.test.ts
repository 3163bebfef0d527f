import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as v from 'valibot';
import { z } from 'zod';
import {
  clientFor,
  defineService,
  implement,
  MicroError,
  ofType,
  publisherFor,
  subscribeTo,
  type ContractHandlers,
  type HandlerWrapper,
  type Service,
} from '../../src/index.js';
import { cluster, type Cluster } from '../helpers/services.js';
import { Greeter, Joined } from './greeter-contract.js';

// A typed server and a typed client over real sockets (the default transport), sharing a memory
// registry and broker. Handler runs and the requests reaching the server are counted, so a test
// can tell "refused before the handler" and "never sent" apart from "answered".
let c: Cluster;
let server: Service;
let caller: Service;
const runs = new Map<string, number>();
let arrived = 0;
const joined: string[] = [];

const count = (endpoint: string): void => void runs.set(endpoint, (runs.get(endpoint) ?? 0) + 1);
const countArrivals: HandlerWrapper = (next) => (req, ctx) => {
  arrived++;
  return next(req, ctx);
};

const handlers: ContractHandlers<typeof Greeter> = {
  Greeter: {
    Hello({ name, profile }) {
      count('Hello');
      return { msg: `Hello ${name}${profile ? ` (${profile.tags.join(',')})` : ''}` };
    },
    Flaky(_req, ctx) {
      count('Flaky');
      if (runs.get('Flaky') === 1) throw MicroError.internal(ctx.service, 'first run fails');
      return { node: ctx.nodeId };
    },
    async Countdown({ from }, stream) {
      count('Countdown');
      for (let n = from; n >= 0; n--) await stream.send({ n });
    },
    async Sum(values) {
      let total = 0;
      let n = 0;
      for await (const { value } of values) {
        total += value;
        n++;
      }
      return { total, count: n };
    },
    async Chat(stream) {
      for await (const { text } of stream) await stream.send({ echo: text.toUpperCase() });
    },
  },
};

before(async () => {
  c = cluster();
  server = c.service({ name: 'typed-greeter', wrapHandler: [countArrivals] });
  implement(server, Greeter, handlers);
  subscribeTo(server, Joined, (event) => void joined.push(event.user));
  await server.start();
  caller = c.service({ name: 'typed-caller' });
});
after(() => c.stopAll());

const greeter = (validate = false) => clientFor(Greeter, caller.client, { validate });

test('a typed call reaches the typed handler and answers its typed response', async () => {
  const reply = await greeter().Greeter.Hello({ name: 'Ada', profile: { tags: ['a', 'b'] } });
  assert.deepEqual(reply, { msg: 'Hello Ada (a,b)' });
});

test('a request that fails its schema is a 400 naming each field path, and the handler never runs', async () => {
  const before = runs.get('Hello') ?? 0;
  const raw = caller.client;
  await assert.rejects(
    raw.call('typed-greeter', 'Greeter.Hello', { name: 42, profile: { tags: ['ok', 'too long'] } }),
    (err: unknown) => {
      assert.ok(MicroError.is(err, 400), String(err));
      assert.equal(err.id, 'go.micro.server');
      assert.match(err.detail, /^invalid request to Greeter\.Hello: /);
      assert.match(err.detail, /name: Invalid input: expected string, received number/);
      assert.match(err.detail, /profile\.tags\[1\]: Too big/);
      return true;
    },
  );
  assert.equal(runs.get('Hello') ?? 0, before, 'the handler did not run');
  // ...and the server keeps serving.
  assert.deepEqual(await greeter().Greeter.Hello({ name: 'Bo' }), { msg: 'Hello Bo' });
});

test('client-side validation fails fast with a 400 from go.micro.client and sends nothing', async () => {
  const before = arrived;
  await assert.rejects(
    // A caller whose types are lost (JSON from elsewhere) is what this guards against.
    greeter(true).Greeter.Hello(JSON.parse('{"name": 7}') as { name: string }),
    (err: unknown) =>
      MicroError.is(err, 400) &&
      err.id === 'go.micro.client' &&
      /name: Invalid input: expected string, received number/.test(err.detail),
  );
  assert.equal(arrived, before, 'nothing reached the server');
  assert.deepEqual(await greeter(true).Greeter.Hello({ name: 'Cy' }), { msg: 'Hello Cy' });
});

test("the contract's idempotent flag is the default of its calls: a 500 is retried on another node", async () => {
  const second = c.service({ name: 'typed-greeter' });
  implement(second, Greeter, handlers);
  await second.start();
  try {
    runs.delete('Flaky');
    const { node } = await greeter().Greeter.Flaky({ key: 'k' });
    assert.equal(runs.get('Flaky'), 2, 'retried once, on the other node');
    assert.ok([server.server.node?.id, second.server.node?.id].includes(node));
    // A call that says otherwise is not retried.
    runs.delete('Flaky');
    await assert.rejects(greeter().Greeter.Flaky({ key: 'k' }, { idempotent: false }), (err) =>
      MicroError.is(err, 500),
    );
    assert.equal(runs.get('Flaky'), 1);
  } finally {
    await second.stop();
  }
});

test('a server stream: typed request in, typed messages out, for await to the end', async () => {
  const countdown = await greeter().Greeter.Countdown({ from: 3 });
  const got: number[] = [];
  for await (const { n } of countdown) got.push(n);
  assert.deepEqual(got, [3, 2, 1, 0]);
});

test('a server stream whose request fails its schema ends with the 400', async () => {
  const before = runs.get('Countdown') ?? 0;
  const countdown = await caller.client.stream('typed-greeter', 'Greeter.Countdown');
  await countdown.send({ from: -1 });
  countdown.closeSend();
  await assert.rejects(countdown.recv(), (err: unknown) => {
    assert.ok(MicroError.is(err, 400), String(err));
    assert.match(err.detail, /from: Too small/);
    return true;
  });
  assert.equal(runs.get('Countdown') ?? 0, before);
});

test('a client stream: many typed requests, one typed response', async () => {
  const sum = await greeter().Greeter.Sum();
  for (const value of [1, 2, 3]) await sum.send({ value });
  assert.deepEqual(await sum.closeAndRecv(), { total: 6, count: 3 });
});

test('a bidi stream: typed both ways; a bad message mid-stream ends it with a 400 naming the field', async () => {
  const chat = await greeter().Greeter.Chat();
  await chat.send({ text: 'hi' });
  assert.deepEqual(await chat.recv(), { echo: 'HI' });
  const raw = await caller.client.stream('typed-greeter', 'Greeter.Chat');
  await raw.send({ text: 'ok' });
  assert.deepEqual(await raw.recv(), { echo: 'OK' });
  await raw.send({ text: 3 });
  await assert.rejects(raw.recv(), (err: unknown) => {
    assert.ok(MicroError.is(err, 400), String(err));
    assert.match(err.detail, /^invalid request to Greeter\.Chat: text: /);
    return true;
  });
  chat.closeSend();
  assert.equal(await chat.recv(), undefined);
});

test('a topic: typed publish reaches the subscriber; an event failing the schema never does', async () => {
  joined.length = 0;
  await publisherFor(Joined, caller.client).publish({ user: 'ada' });
  // Published untyped, as another service might: refused before the subscriber.
  await caller.client.publish(Joined.topic, { user: '' });
  await caller.client.publish(Joined.topic, { user: 'bo' });
  assert.deepEqual(joined, ['ada', 'bo']);
  await assert.rejects(
    publisherFor(Joined, caller.client, { validate: true }).publish({ user: '' }),
    (err: unknown) => MicroError.is(err, 400) && err.id === 'go.micro.client',
  );
});

test('response validation, when on, answers a 500 naming the field instead of a bad response', async () => {
  const Sloppy = defineService('typed-sloppy', {
    Sloppy: { Get: { request: ofType<object>(), response: z.object({ id: z.number() }) } },
  });
  const sloppy = c.service({ name: 'typed-sloppy' });
  // The handler's types are right; what it returns at run time is not (data from elsewhere).
  implement(
    sloppy,
    Sloppy,
    { Sloppy: { Get: () => JSON.parse('{"id": "seven"}') as { id: number } } },
    { validateResponses: true },
  );
  await sloppy.start();
  try {
    await assert.rejects(clientFor(Sloppy, caller.client).Sloppy.Get({}), (err: unknown) => {
      assert.ok(MicroError.is(err, 500), String(err));
      assert.equal(err.id, 'typed-sloppy');
      assert.match(
        err.detail,
        /^invalid response from Sloppy\.Get: id: Invalid input: expected number/,
      );
      return true;
    });
  } finally {
    await sloppy.stop();
  }
});

test('a contract of TypeScript types only, and one on Valibot, serve and call alike', async () => {
  interface Ping {
    seq: number;
  }
  const Types = defineService('typed-types', {
    Pinger: {
      Ping: { request: ofType<Ping>('Ping'), response: ofType<Ping>('Ping') },
      Check: {
        request: v.object({ seq: v.pipe(v.number(), v.minValue(1)) }),
        response: v.object({ ok: v.boolean() }),
      },
    },
  });
  const svc = c.service({ name: 'typed-types' });
  implement(svc, Types, {
    Pinger: { Ping: ({ seq }) => ({ seq: seq + 1 }), Check: () => ({ ok: true }) },
  });
  await svc.start();
  try {
    const pinger = clientFor(Types, caller.client).Pinger;
    assert.deepEqual(await pinger.Ping({ seq: 1 }), { seq: 2 });
    // Types only: nothing checks at run time, the handler sees what was sent.
    const loose = await caller.client.call<{ seq: string }>('typed-types', 'Pinger.Ping', {
      seq: 'x',
    });
    assert.equal(loose.seq, 'x1');
    assert.deepEqual(await pinger.Check({ seq: 1 }), { ok: true });
    await assert.rejects(pinger.Check({ seq: 0 }), (err: unknown) => {
      assert.ok(MicroError.is(err, 400), String(err));
      assert.match(err.detail, /^invalid request to Pinger\.Check: seq: /);
      return true;
    });
  } finally {
    await svc.stop();
  }
});
