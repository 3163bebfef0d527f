import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  MicroError,
  registrySelector,
  type CallWrapper,
  type ClientOptions,
  type HandlerContext,
  type Selector,
  type Service,
} from '../../src/index.js';
import type { Strategy } from '../../src/plugin.js';
import { cluster, quietLogger } from '../helpers/services.js';

// Three nodes of `flaky` in this process over real gRPC, steered by the request: `fail` makes
// every node answer with that business error; `hang` names a node that never answers.
const c = cluster();
const nodeIds: string[] = [];

before(async () => {
  for (let i = 0; i < 3; i++) {
    const s = c.service({ name: 'flaky' });
    s.handle('Flaky', {
      async Call(req: { fail?: number; hang?: string }, ctx: HandlerContext) {
        if (req.hang === s.server.node!.id) {
          await new Promise<void>((resolve) =>
            ctx.signal.addEventListener('abort', () => resolve(), { once: true }),
          );
          throw MicroError.timeout('flaky', 'aborted');
        }
        if (req.fail) throw new MicroError('flaky', req.fail, 'business error');
        return { node: s.server.node!.id };
      },
    });
    await s.start();
    nodeIds.push(s.server.node!.id);
  }
  nodeIds.sort();
});
after(() => c.stopAll());

/** Tries nodes in id order (first not yet tried): makes "which node is first" deterministic. */
const inOrder: Strategy = (nodes) => (opts) =>
  [...nodes].sort((a, b) => (a.id < b.id ? -1 : 1)).find((n) => !opts?.exclude?.has(n.id)) ??
  nodes[0];

function caller(opts: Partial<Pick<ClientOptions, 'retryBudget' | 'retries'>> = {}): {
  svc: Service;
  selector: Selector;
  attempts: { node: string; at: number }[];
} {
  const attempts: { node: string; at: number }[] = [];
  const record: CallWrapper = (next) => (ctx, node, req, o) => {
    attempts.push({ node: node.id, at: Date.now() });
    return next(ctx, node, req, o);
  };
  const selector = registrySelector({ registry: c.registry, strategy: inOrder });
  const svc = c.service({
    name: 'caller',
    selector,
    wrapCall: [record],
    logger: quietLogger(),
    ...opts,
  });
  return { svc, selector, attempts };
}

test("a handler's 500 is retried only when the call is idempotent, each time on a node not yet tried", async () => {
  const plain = caller();
  await assert.rejects(
    plain.svc.client.call('flaky', 'Flaky.Call', { fail: 500 }),
    (e: unknown) => MicroError.is(e, 500) && e.id === 'flaky',
  );
  assert.equal(plain.attempts.length, 1);
  const idem = caller();
  await assert.rejects(
    idem.svc.client.call('flaky', 'Flaky.Call', { fail: 500 }, { idempotent: true }),
    (e: unknown) => MicroError.is(e, 500),
  );
  assert.deepEqual(
    idem.attempts.map((a) => a.node),
    nodeIds,
    'three attempts, three distinct nodes',
  );
  const bad = caller();
  await assert.rejects(
    bad.svc.client.call('flaky', 'Flaky.Call', { fail: 400 }, { idempotent: true }),
    (e: unknown) => MicroError.is(e, 400),
  );
  assert.equal(bad.attempts.length, 1, 'a 4xx is never retried, idempotent or not');
});

test('a hung node: the attempt times out as a transport fault and an idempotent call moves on', async () => {
  const { svc, selector, attempts } = caller();
  const startedAt = Date.now();
  const rsp = await svc.client.call<{ node: string }>(
    'flaky',
    'Flaky.Call',
    { hang: nodeIds[0] },
    { idempotent: true, attemptTimeoutMs: 200, timeoutMs: 4_000 },
  );
  assert.equal(rsp.node, nodeIds[1], 'answered by the next node');
  assert.deepEqual(
    attempts.map((a) => a.node),
    nodeIds.slice(0, 2),
  );
  assert.ok(
    attempts[1].at - startedAt >= 200,
    "the second attempt started once the first one's limit passed",
  );
  assert.equal(
    selector.stats!('flaky').find((n) => n.id === nodeIds[0])!.consecutiveFaults,
    1,
    'the timeout counts against the hung node',
  );

  const plain = caller();
  await assert.rejects(
    plain.svc.client.call(
      'flaky',
      'Flaky.Call',
      { hang: nodeIds[0] },
      { attemptTimeoutMs: 200, timeoutMs: 4_000 },
    ),
    (e: unknown) =>
      MicroError.is(e, 408) && e.fault?.reason === 'timeout' && e.fault.beforeHandler === false,
  );
  assert.equal(plain.attempts.length, 1, 'not idempotent: the handler may have run, so no retry');
});

test('a backoff that cannot end inside the budget is not slept: the call ends with the last error', async (t) => {
  const { svc, attempts } = caller({ retries: 5 });
  const startedAt = Date.now();
  // Backoffs are 50–100 ms, then 300–600 ms, then ≥ 950 ms: at most the second fits in 400 ms.
  // The verdict is the error: the handler's 500, never the 408 that sleeping into the deadline
  // (or a late timer leaving the next attempt no time) would give. How long it took is only
  // reported: a loaded machine's timers may fire hundreds of ms late.
  await assert.rejects(
    svc.client.call('flaky', 'Flaky.Call', { fail: 500 }, { idempotent: true, timeoutMs: 400 }),
    (e: unknown) => MicroError.is(e, 500),
  );
  t.diagnostic(`ended after ${Date.now() - startedAt} ms of its 400`);
  assert.ok(
    attempts.length >= 2 && attempts.length <= 3,
    `${attempts.length} attempts, not the 6 allowed`,
  );
});

test('a backoff timer that fires past the deadline ends the call with the error it was retrying, not a 408', async () => {
  // A loaded machine, made on purpose: while the client sleeps its first backoff, the event loop
  // is blocked for longer than the whole budget, so the backoff's timer fires past the deadline.
  let stalled = false;
  const stallOnce: CallWrapper = (next) => async (ctx, node, req, o) => {
    try {
      return await next(ctx, node, req, o);
    } finally {
      if (!stalled) {
        stalled = true;
        // 20 ms on: inside the backoff's sleep (≥ 50 ms), after the client chose to sleep.
        setTimeout(() => {
          const until = Date.now() + 600;
          while (Date.now() < until);
        }, 20);
      }
    }
  };
  const svc = c.service({
    name: 'caller',
    selector: registrySelector({ registry: c.registry, strategy: inOrder }),
    wrapCall: [stallOnce],
    logger: quietLogger(),
  });
  await assert.rejects(
    svc.client.call('flaky', 'Flaky.Call', { fail: 500 }, { idempotent: true, timeoutMs: 400 }),
    (e: unknown) => MicroError.is(e, 500) && e.detail === 'business error',
  );
  assert.ok(stalled);
});

test('the retry budget caps retries at 20 % of calls (plus the floor) across the client', async () => {
  const capped = caller({ retryBudget: { ratio: 0.2, minPerSec: 0 } });
  const uncapped = caller({ retryBudget: false });
  const calls = 10;
  // All calls of a client at once: every call is counted before the first retry asks.
  await Promise.all(
    [capped, uncapped].flatMap(({ svc }) =>
      Array.from({ length: calls }, () =>
        assert.rejects(
          svc.client.call(
            'flaky',
            'Flaky.Call',
            { fail: 503 },
            { idempotent: true, timeoutMs: 4_000 },
          ),
          (e: unknown) => MicroError.is(e, 503),
        ),
      ),
    ),
  );
  assert.equal(
    uncapped.attempts.length,
    calls * 3,
    'without a budget every call makes its 2 retries',
  );
  const retries = capped.attempts.length - calls;
  assert.ok(
    retries >= 1 && retries <= calls * 0.2,
    `with the budget: ${retries} retries for ${calls} calls`,
  );
});
