import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { currentContext, type Service } from '../../src/index.js';
import { cluster } from '../helpers/services.js';

// A → B over real gRPC: B reports the deadline and metadata it received, and when its handler ran.
// Deadlines cross the wire as durations (go-micro's `timeout`, gRPC's grpc-timeout): each side
// recomputes the absolute deadline as its own now + what was left when the caller sent it, so a
// hop moves the deadline later by exactly its transit time. The services share one process and
// clock: each relay records when it was entered, before its call goes out, so the transit time of
// every hop is bounded by measured times rather than by a guessed slack.
type Inspected = { deadline: number; metadata: Record<string, string>; received: number };
type Relayed = { own: number; inner: Inspected; entered: number };
const c = cluster();
let front: Service;
let caller: Service;
let explicit: Service;

before(async () => {
  const back = c.service({ name: 'back' });
  back.handle('Back', {
    async Inspect(_req: unknown, ctx) {
      // After the transport computed ctx.deadline from its own now: an upper bound of that now.
      return { deadline: ctx.deadline, metadata: ctx.metadata, received: Date.now() };
    },
  });
  await back.start();
  front = c.service({ name: 'front' });
  front.handle('Front', {
    async Relay(_req: unknown, ctx): Promise<Relayed> {
      // After front computed its deadline on arrival, before the inner call is sent: bounds both.
      const entered = Date.now();
      // No ctx passed: the call inherits it from the handler it runs in.
      const inner = await front.client.call<Inspected>(
        'back',
        'Back.Inspect',
        {},
        { metadata: { hop: 'front' } },
      );
      return { own: ctx.deadline, inner, entered };
    },
  });
  await front.start();
  // The same relay on a server without implicit context: only a ctx handed on is inherited.
  explicit = c.service({ name: 'explicit', implicitContext: false });
  explicit.handle('Front', {
    async Relay(_req: unknown, ctx): Promise<Relayed & { seen: boolean }> {
      const entered = Date.now();
      const seen = currentContext() !== undefined;
      const inner = await explicit.client.call<Inspected>('back', 'Back.Inspect', {});
      return { own: ctx.deadline, inner, entered, seen };
    },
    async RelayCtx(_req: unknown, ctx): Promise<Relayed & { seen: boolean }> {
      const entered = Date.now();
      const inner = await explicit.client.call<Inspected>('back', 'Back.Inspect', {}, { ctx });
      return { own: ctx.deadline, inner, entered, seen: false };
    },
  });
  await explicit.start();
  caller = c.service({ name: 'caller' });
});
after(() => c.stopAll());

test('a handler calling another service passes on the remaining deadline and the metadata', async () => {
  const before = Date.now();
  const rsp = await caller.client.call<Relayed>(
    'front',
    'Front.Relay',
    {},
    { timeoutMs: 1500, metadata: { tenant: 'a', 'X-Request-Id': 'r1' } },
  );
  // The caller's deadline is its now (≥ before) + 1500; front's is that moved later by at most
  // the transit to front (which ended before Relay was entered), so a fresh 5 s cannot pass.
  assert.ok(
    rsp.own >= before + 1500 && rsp.own <= rsp.entered + 1500,
    `front's deadline ${rsp.own - before} ms is the caller's budget ` +
      `(${rsp.entered - before} ms from sending to the handler)`,
  );
  const transit = rsp.inner.received - rsp.entered;
  assert.ok(
    rsp.inner.deadline <= rsp.own + transit,
    `the downstream deadline never exceeds the inbound one but by the hop's transit time ` +
      `(${rsp.inner.deadline - rsp.own} ms later, transit ≤ ${transit} ms)`,
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
  type Seen = Relayed & { seen: boolean };
  const opts = { timeoutMs: 1500, metadata: { tenant: 'b' } };
  const started = Date.now();
  const implicit = await caller.client.call<Seen>('explicit', 'Front.Relay', {}, opts);
  assert.equal(implicit.seen, false, 'currentContext() is undefined in its handlers');
  assert.equal(implicit.inner.metadata.tenant, undefined, 'nothing is inherited without { ctx }');
  assert.ok(
    implicit.inner.deadline - started > 4_000,
    'the inner call has a budget of its own (the 5 s default)',
  );

  const handedOn = await caller.client.call<Seen>('explicit', 'Front.RelayCtx', {}, opts);
  assert.equal(handedOn.inner.metadata.tenant, 'b');
  const transit = handedOn.inner.received - handedOn.entered;
  assert.ok(
    handedOn.inner.deadline <= handedOn.own + transit &&
      handedOn.own - handedOn.inner.deadline < 400,
    `the inner call gets what is left of the inbound budget ` +
      `(${handedOn.inner.deadline - handedOn.own} ms later, transit ≤ ${transit} ms)`,
  );
});

test('implicitContext must be a boolean', () => {
  assert.throws(
    () => c.service({ name: 'bad', implicitContext: 'no' as unknown as boolean }),
    /implicitContext/,
  );
});
