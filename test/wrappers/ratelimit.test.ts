import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setImmediate as yieldToIo } from 'node:timers/promises';
import {
  MicroError,
  type Client,
  type ClientWrapper,
  type HandlerWrapper,
} from '../../src/index.js';
import { RATE_LIMIT_ERROR_ID, rateLimiter } from '../../src/wrappers/ratelimit.js';
import { cluster } from '../helpers/services.js';

const RUN_MS = 3_000;
const MAX_CALLS = 50_000;

/**
 * Calls as fast as `concurrency` allows for RUN_MS (and at most MAX_CALLS); counts outcomes.
 * Many calls in flight keep the limiter saturated even when other processes take the CPU.
 */
async function hammer(
  client: Client,
  metadata: Record<string, string>,
  concurrency = 16,
): Promise<{ ok: number; limited: number; other: string[]; firstMs: number; lastMs: number }> {
  const r = { ok: 0, limited: 0, other: [] as string[], firstMs: 0, lastMs: 0 };
  const start = performance.now();
  const end = start + RUN_MS;
  let sent = 0;
  const worker = async (): Promise<void> => {
    while (performance.now() < end && sent < MAX_CALLS) {
      sent++;
      try {
        await client.call('limited', 'Limited.Ping', {}, { metadata, retries: 0 });
        r.ok++;
      } catch (err) {
        if (MicroError.is(err, 429) && err.id === RATE_LIMIT_ERROR_ID) r.limited++;
        else r.other.push(String(err));
        // A refusal made in-process settles without I/O; yield so accepted calls get their turn.
        await yieldToIo();
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  r.lastMs = performance.now() - start;
  return r;
}

/**
 * How many calls arriving at `arrivals` (performance.now() ms, ascending) a token bucket of
 * `rate`/s and `burst` admits, filled at the first arrival as the limiter's bucket is: the
 * reference the limiter is held to. Replaying the arrivals that really happened makes the
 * expectation independent of how many calls the machine managed to offer: a bucket that sat
 * full while a starved client sent nothing lost those tokens in the model too.
 */
function bucketAdmits(arrivals: readonly number[], rate: number, burst: number): number {
  let tokens = burst;
  let last = arrivals[0] ?? 0;
  let admitted = 0;
  for (const at of arrivals) {
    tokens = Math.min(burst, tokens + ((at - last) / 1000) * rate);
    last = at;
    if (tokens >= 1) {
      tokens -= 1;
      admitted++;
    }
  }
  return admitted;
}

/**
 * Wrappers placed just outside the limiter that record when each call reaches it: the limiter
 * reads its clock synchronously after them, within the same tick.
 */
function arrivalRecorder(): {
  arrivals: number[];
  handler: (caller: string) => HandlerWrapper;
  client: ClientWrapper;
} {
  const arrivals: number[] = [];
  return {
    arrivals,
    handler: (caller) => (next) => (req, ctx) => {
      if (ctx.metadata['x-caller'] === caller) arrivals.push(performance.now());
      return next(req, ctx);
    },
    client: (next) => ({
      call(service, endpoint, request, opts) {
        arrivals.push(performance.now());
        return next.call(service, endpoint, request, opts);
      },
      stream: (service, endpoint, opts) => next.stream(service, endpoint, opts),
      publish: (topic, message, opts) => next.publish(topic, message, opts),
    }),
  };
}

test('server-side: a caller over the limit gets 429s, accepted calls stay within 5 % of the rate, other callers keep being served', async (t) => {
  const c = cluster();
  try {
    const rate = 50;
    const burst = 25;
    const limiter = rateLimiter({ rate, burst, callerKey: 'x-caller' });
    const recorder = arrivalRecorder();
    const server = c.service({
      name: 'limited',
      wrapHandler: [recorder.handler('a'), limiter.handler],
    });
    let handled = 0;
    server.handle('Limited', {
      async Ping() {
        handled++;
        return {};
      },
    });
    await server.start();
    const client = c.service({ name: 'caller' }).client;

    // Caller b calls well below the limit while a floods; b's bucket is its own.
    const bResults: string[] = [];
    const b = (async () => {
      for (let i = 0; i < 20; i++) {
        bResults.push(
          await client.call('limited', 'Limited.Ping', {}, { metadata: { 'x-caller': 'b' } }).then(
            () => 'ok',
            (e: unknown) => String(e),
          ),
        );
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
    const a = await hammer(client, { 'x-caller': 'a' });
    await b;

    // A full bucket then `rate` per second, for the calls as they really arrived: a flood that
    // stalled (GC, a busy CPU) longer than the burst lasts let the bucket overflow, which the
    // wall-clock allowance `burst + rate × run` does not know about.
    const expected = bucketAdmits(recorder.arrivals, rate, burst);
    assert.deepEqual(a.other, []);
    assert.equal(recorder.arrivals.length, a.ok + a.limited, 'every call of a reached the limiter');
    assert.ok(a.limited > 0, `the flood was limited (${a.ok} ok, ${a.limited} limited)`);
    t.diagnostic(
      `${a.ok} accepted, ${a.limited} limited in ${a.lastMs.toFixed(0)} ms, expected ` +
        `${expected} (wall-clock allowance ${(burst + (rate * a.lastMs) / 1000).toFixed(1)})`,
    );
    assert.ok(
      Math.abs(a.ok - expected) <= expected * 0.05,
      `accepted ${a.ok}, expected ${expected.toFixed(1)} ± 5 %`,
    );
    assert.deepEqual(bResults, Array(20).fill('ok'));
    assert.equal(handled, a.ok + 20);
  } finally {
    await c.stopAll();
  }
});

test('client-side: calls over the limit fail fast with 429 and never reach the server', async (t) => {
  const c = cluster();
  try {
    const server = c.service({ name: 'limited' });
    let handled = 0;
    server.handle('Limited', {
      async Ping() {
        handled++;
        return {};
      },
    });
    await server.start();
    const rate = 50;
    const burst = 25;
    const recorder = arrivalRecorder();
    const client = c.service({
      name: 'caller',
      wrapClient: [recorder.client, rateLimiter({ rate, burst }).client],
    }).client;
    const r = await hammer(client, {});
    const expected = bucketAdmits(recorder.arrivals, rate, burst);
    t.diagnostic(
      `${r.ok} accepted, ${r.limited} limited in ${r.lastMs.toFixed(0)} ms, expected ` +
        `${expected} (wall-clock allowance ${(burst + (rate * r.lastMs) / 1000).toFixed(1)})`,
    );
    assert.deepEqual(r.other, []);
    assert.equal(recorder.arrivals.length, r.ok + r.limited, 'every call reached the limiter');
    assert.ok(
      Math.abs(r.ok - expected) <= expected * 0.05,
      `accepted ${r.ok}, expected ${expected.toFixed(1)} ± 5 %`,
    );
    assert.equal(handled, r.ok);
  } finally {
    await c.stopAll();
  }
});

test('wait: true queues calls for their turn instead of refusing them, unless the wait outlasts the budget', async () => {
  const c = cluster();
  try {
    const server = c.service({ name: 'limited' });
    const order: number[] = [];
    server.handle('Limited', {
      async Ping(req: { i: number }) {
        order.push(req.i);
        return {};
      },
    });
    await server.start();
    const client = c.service({
      name: 'caller',
      wrapClient: [rateLimiter({ rate: 50, burst: 1, wait: true }).client],
    }).client;
    const all = await Promise.allSettled(
      Array.from({ length: 20 }, (_, i) =>
        client.call('limited', 'Limited.Ping', { i }, { timeoutMs: 30_000 }),
      ),
    );
    assert.deepEqual(
      all.map((s) => s.status),
      Array(20).fill('fulfilled'),
    );
    assert.equal(order.length, 20);

    // At 1 call/s the second call would wait ~1 s; its 100 ms budget cannot cover that.
    const slow = c.service({
      name: 'caller2',
      wrapClient: [rateLimiter({ rate: 1, burst: 1, wait: true }).client],
    }).client;
    await slow.call('limited', 'Limited.Ping', { i: 100 }, { timeoutMs: 100 });
    const err = await slow
      .call('limited', 'Limited.Ping', { i: 101 }, { timeoutMs: 100 })
      .catch((e: unknown) => e);
    assert.ok(MicroError.is(err, 429));
    assert.equal(err.id, RATE_LIMIT_ERROR_ID);
    assert.deepEqual(order.slice(20), [100]);
  } finally {
    await c.stopAll();
  }
});
