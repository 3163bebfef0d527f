import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { MicroError, grpcTransport, type Service } from '../../src/index.js';
import { cluster } from '../helpers/services.js';

// One server for every case: each bad input must leave it serving the next call.
const c = cluster();
let server: Service;
let caller: Service;
let slowAborted: Promise<void>;
let onSlowAbort: () => void;

before(async () => {
  server = c.service({ name: 'errors' });
  server.handle('Test', {
    async Ok(req: { n: number }) {
      return { n: req.n };
    },
    async Fail() {
      throw new MicroError('errors', 409, 'already exists', 'Conflict');
    },
    async Crash() {
      throw new Error('disk on fire');
    },
    // Not async: served without a promise, so a value and a throw must each still reach the caller.
    Double(req: { n: number }) {
      return { n: req.n * 2 };
    },
    SyncCrash() {
      throw new Error('thrown before any await');
    },
    SyncFail() {
      throw new MicroError('errors', 429, 'slow down', 'Too Many Requests');
    },
    async Slow(req: { ms: number }, ctx) {
      await new Promise((r) => {
        const t = setTimeout(r, req.ms);
        ctx.signal.addEventListener('abort', () => {
          clearTimeout(t);
          onSlowAbort();
          r(undefined);
        });
      });
      return { aborted: ctx.signal.aborted };
    },
  });
  await server.start();
  caller = c.service({ name: 'caller' });
});
after(() => c.stopAll());

async function stillServing(): Promise<void> {
  assert.deepEqual(await caller.client.call('errors', 'Test.Ok', { n: 7 }), { n: 7 });
}

async function rejection(p: Promise<unknown>): Promise<MicroError> {
  try {
    await p;
  } catch (err) {
    assert.ok(MicroError.is(err), `expected a MicroError, got ${String(err)}`);
    return err;
  }
  assert.fail('expected the call to fail');
}

test('an unknown service is a 503 naming the service', async () => {
  const err = await rejection(caller.client.call('nobody', 'X.Y', {}));
  assert.equal(err.code, 503);
  assert.equal(err.id, 'go.micro.client');
  assert.match(err.detail, /nobody/);
  await stillServing();
});

test('an unknown endpoint is a 404 naming the endpoint', async () => {
  const err = await rejection(caller.client.call('errors', 'Test.Nope', {}));
  assert.equal(err.code, 404);
  assert.match(err.detail, /Test\.Nope/);
  await stillServing();
});

test('a MicroError thrown by a handler arrives intact and is not retried', async () => {
  const err = await rejection(caller.client.call('errors', 'Test.Fail', {}));
  assert.deepEqual(err.toJSON(), {
    id: 'errors',
    code: 409,
    detail: 'already exists',
    status: 'Conflict',
  });
  await stillServing();
});

test('a plain Error thrown by a handler becomes a 500 with its message', async () => {
  const err = await rejection(caller.client.call('errors', 'Test.Crash', {}));
  assert.equal(err.code, 500);
  assert.equal(err.id, 'errors');
  assert.equal(err.detail, 'disk on fire');
  await stillServing();
});

test('a handler that is not async answers with its plain return value, over native and gRPC', async () => {
  assert.deepEqual(await caller.client.call('errors', 'Test.Double', { n: 21 }), { n: 42 });
  const [node] = (await c.registry.getService('errors'))[0].nodes;
  const transport = grpcTransport();
  try {
    const head = {
      service: 'errors',
      endpoint: 'Test.Double',
      contentType: 'application/grpc+json',
      metadata: {},
      deadline: Date.now() + 2000,
    };
    const reply = await transport
      .dial(node.address)
      .call(head, new TextEncoder().encode('{"n":4}'));
    assert.deepEqual(JSON.parse(new TextDecoder().decode(reply)), { n: 8 });
  } finally {
    await transport.close();
  }
  await stillServing();
});

test('a handler that throws synchronously fails its call like an async one: a 500, or its own MicroError', async () => {
  const crash = await rejection(caller.client.call('errors', 'Test.SyncCrash', {}));
  assert.deepEqual(crash.toJSON(), {
    id: 'errors',
    code: 500,
    detail: 'thrown before any await',
    status: 'Internal Server Error',
  });
  const fail = await rejection(caller.client.call('errors', 'Test.SyncFail', {}));
  assert.deepEqual(fail.toJSON(), {
    id: 'errors',
    code: 429,
    detail: 'slow down',
    status: 'Too Many Requests',
  });
  await stillServing();
});

test('a malformed JSON body is a 400', async () => {
  const [node] = (await c.registry.getService('errors'))[0].nodes;
  const transport = grpcTransport();
  try {
    const head = {
      service: 'errors',
      endpoint: 'Test.Ok',
      contentType: 'application/grpc+json',
      metadata: {},
      deadline: Date.now() + 2000,
    };
    const err = await rejection(
      transport.dial(node.address).call(head, new TextEncoder().encode('{"n": 7')),
    );
    assert.equal(err.code, 400);
    assert.match(err.detail, /malformed/);
  } finally {
    await transport.close();
  }
  await stillServing();
});

test('a call past its deadline is a 408 and the handler sees its signal abort', async () => {
  slowAborted = new Promise((resolve) => {
    onSlowAbort = resolve;
  });
  const started = Date.now();
  const err = await rejection(
    caller.client.call('errors', 'Test.Slow', { ms: 5000 }, { timeoutMs: 200 }),
  );
  assert.equal(err.code, 408);
  assert.ok(Date.now() - started < 2000, 'the caller is not kept waiting past its budget');
  await slowAborted; // the server-side handler was told to stop
  await stillServing();
});
