import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { currentContext, type Service } from '../../src/index.js';
import { cluster } from '../helpers/services.js';

// A → B over real gRPC: B reports the deadline and metadata it received.
const c = cluster();
let front: Service;
let caller: Service;
let explicit: Service;

before(async () => {
  const back = c.service({ name: 'back' });
  back.handle('Back', {
    async Inspect(_req: unknown, ctx) {
      return { deadline: ctx.deadline, metadata: ctx.metadata };
    },
  });
  await back.start();
  front = c.service({ name: 'front' });
  front.handle('Front', {
    async Relay(_req: unknown, ctx) {
      // No ctx passed: the call inherits it from the handler it runs in.
      const inner = await front.client.call<{ deadline: number; metadata: Record<string, string> }>(
        'back',
        'Back.Inspect',
        {},
        { metadata: { hop: 'front' } },
      );
      return { own: ctx.deadline, inner };
    },
  });
  await front.start();
  // The same relay on a server without implicit context: only a ctx handed on is inherited.
  explicit = c.service({ name: 'explicit', implicitContext: false });
  explicit.handle('Front', {
    async Relay(_req: unknown, ctx) {
      const seen = currentContext() !== undefined;
      const inner = await explicit.client.call<{
        deadline: number;
        metadata: Record<string, string>;
      }>('back', 'Back.Inspect', {});
      return { own: ctx.deadline, inner, seen };
    },
    async RelayCtx(_req: unknown, ctx) {
      const inner = await explicit.client.call<{
        deadline: number;
        metadata: Record<string, string>;
      }>('back', 'Back.Inspect', {}, { ctx });
      return { own: ctx.deadline, inner, seen: false };
    },
  });
  await explicit.start();
  caller = c.service({ name: 'caller' });
});
after(() => c.stopAll());

test('a handler calling another service passes on the remaining deadline and the metadata', async () => {
  const before = Date.now();
  const rsp = await caller.client.call<{
    own: number;
    inner: { deadline: number; metadata: Record<string, string> };
  }>(
    'front',
    'Front.Relay',
    {},
    { timeoutMs: 1500, metadata: { tenant: 'a', 'X-Request-Id': 'r1' } },
  );
  const callerDeadline = before + 1500;
  // Deadlines travel as durations, so each hop's transit time shifts them; 400 ms of slack holds
  // on a loaded machine (first connection, cold JIT) and still tells 1.5 s from a fresh 5 s.
  assert.ok(
    Math.abs(rsp.own - callerDeadline) < 400,
    `front's deadline ${rsp.own - before} ms is the caller's budget`,
  );
  assert.ok(
    rsp.inner.deadline <= rsp.own + 5,
    'the downstream deadline never exceeds the inbound one',
  );
  assert.ok(rsp.own - rsp.inner.deadline < 400, 'and is the remaining budget, not a fresh 5 s');
  assert.equal(rsp.inner.metadata.tenant, 'a');
  assert.equal(rsp.inner.metadata['x-request-id'], 'r1', 'keys arrive lowercased as in gRPC');
  assert.equal(rsp.inner.metadata.hop, 'front');
  assert.equal(
    rsp.inner.metadata.timeout,
    undefined,
    'per-hop transport keys are not shown to handlers',
  );
});

test('an explicit timeout inside a handler cannot extend the inbound deadline', async () => {
  const back = await caller.client.call<{ deadline: number }>(
    'back',
    'Back.Inspect',
    {},
    { timeoutMs: 300 },
  );
  assert.ok(back.deadline - Date.now() <= 300);
});

test("implicitContext: false: a handler's calls inherit its deadline and metadata only when given { ctx }", async () => {
  type Relayed = {
    own: number;
    inner: { deadline: number; metadata: Record<string, string> };
    seen: boolean;
  };
  const opts = { timeoutMs: 1500, metadata: { tenant: 'b' } };
  const started = Date.now();
  const implicit = await caller.client.call<Relayed>('explicit', 'Front.Relay', {}, opts);
  assert.equal(implicit.seen, false, 'currentContext() is undefined in its handlers');
  assert.equal(implicit.inner.metadata.tenant, undefined, 'nothing is inherited without { ctx }');
  assert.ok(
    implicit.inner.deadline - started > 4_000,
    'the inner call has a budget of its own (the 5 s default)',
  );

  const handedOn = await caller.client.call<Relayed>('explicit', 'Front.RelayCtx', {}, opts);
  assert.equal(handedOn.inner.metadata.tenant, 'b');
  assert.ok(
    handedOn.inner.deadline <= handedOn.own + 5 && handedOn.own - handedOn.inner.deadline < 400,
    'the inner call gets what is left of the inbound budget',
  );
});

test('implicitContext must be a boolean', () => {
  assert.throws(
    () => c.service({ name: 'bad', implicitContext: 'no' as unknown as boolean }),
    /implicitContext/,
  );
});
