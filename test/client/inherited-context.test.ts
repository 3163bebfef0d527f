import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { type Service } from '../../src/index.js';
import { cluster } from '../helpers/services.js';

// A → B over real gRPC: B reports the deadline and metadata it received.
const c = cluster();
let front: Service;
let caller: Service;

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
      const inner = await front.client.call<{ deadline: number; metadata: Record<string, string> }>('back', 'Back.Inspect', {}, { metadata: { hop: 'front' } });
      return { own: ctx.deadline, inner };
    },
  });
  await front.start();
  caller = c.service({ name: 'caller' });
});
after(() => c.stopAll());

test('a handler calling another service passes on the remaining deadline and the metadata', async () => {
  const before = Date.now();
  const rsp = await caller.client.call<{ own: number; inner: { deadline: number; metadata: Record<string, string> } }>(
    'front', 'Front.Relay', {}, { timeout: 1500, metadata: { tenant: 'a', 'X-Request-Id': 'r1' } },
  );
  const callerDeadline = before + 1500;
  assert.ok(Math.abs(rsp.own - callerDeadline) < 100, `front's deadline ${rsp.own - before} ms is the caller's budget`);
  assert.ok(rsp.inner.deadline <= rsp.own + 5, 'the downstream deadline never exceeds the inbound one');
  assert.ok(rsp.own - rsp.inner.deadline < 100, 'and is the remaining budget, not a fresh 5 s');
  assert.equal(rsp.inner.metadata.tenant, 'a');
  assert.equal(rsp.inner.metadata['x-request-id'], 'r1', 'keys arrive lowercased as in gRPC');
  assert.equal(rsp.inner.metadata.hop, 'front');
  assert.equal(rsp.inner.metadata.timeout, undefined, 'per-hop transport keys are not shown to handlers');
});

test('an explicit timeout inside a handler cannot extend the inbound deadline', async () => {
  const back = await caller.client.call<{ deadline: number }>('back', 'Back.Inspect', {}, { timeout: 300 });
  assert.ok(back.deadline - Date.now() <= 300);
});
