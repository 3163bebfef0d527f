import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  clientFor,
  defineService,
  implement,
  InvalidOptionError,
  ofType,
  type HedgeEvent,
} from '../../src/index.js';
import { cluster } from '../helpers/services.js';

// A contract endpoint's `hedge` is the default of its calls, as `idempotent` is: two nodes over
// real sockets, the first stalling until its call is cancelled, called in that order.

const Lookup = defineService('lookup', {
  Lookup: {
    Get: {
      request: ofType<{ key: string }>(),
      response: ofType<{ stalled: boolean }>(),
      idempotent: true,
      hedge: { delayMs: 20 },
    },
  },
});

test('a contract may hedge only an idempotent endpoint, and checks the hedge', () => {
  const endpoint = { request: ofType<object>(), response: ofType<object>() };
  assert.throws(
    () => defineService('x', { X: { Get: { ...endpoint, hedge: { delayMs: 10 } } } }),
    (err: unknown) =>
      err instanceof InvalidOptionError &&
      /defineService\.handlers\.X\.Get\.hedge/.test(err.message),
  );
  assert.throws(
    () =>
      defineService('x', {
        X: { Get: { ...endpoint, idempotent: true, hedge: { delayMs: 'p42' as 'p95' } } },
      }),
    (err: unknown) => err instanceof InvalidOptionError && /hedge\.delayMs/.test(err.message),
  );
});

test("the contract's hedge is the default of its calls, and a call may turn it off", async () => {
  const c = cluster();
  try {
    const addresses: string[] = [];
    for (const stall of [true, false]) {
      const s = c.service({ name: 'lookup' });
      implement(s, Lookup, {
        Lookup: {
          async Get(_req, ctx) {
            if (stall)
              await new Promise((resolve) => ctx.signal.addEventListener('abort', resolve));
            return { stalled: stall && !ctx.signal.aborted };
          },
        },
      });
      await s.start();
      addresses.push(s.server.node!.address);
    }
    const events: HedgeEvent[] = [];
    const lookup = clientFor(
      Lookup,
      c.service({ name: 'caller', onHedge: (e) => events.push(e) }).client,
    );
    assert.deepEqual(await lookup.Lookup.Get({ key: 'k' }, { address: addresses }), {
      stalled: false,
    });
    assert.deepEqual(
      events.map((e) => e.kind),
      ['sent', 'won'],
    );
    // Without the hedge the stalled node holds the call until its budget ends.
    await assert.rejects(
      lookup.Lookup.Get({ key: 'k' }, { address: addresses, hedge: false, timeoutMs: 300 }),
      (err: unknown) => (err as { code?: number }).code === 408,
    );
    assert.equal(events.length, 2, 'no hedge was sent');
  } finally {
    await c.stopAll();
  }
});
