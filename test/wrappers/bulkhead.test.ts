import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MicroError } from '../../src/index.js';
import { BULKHEAD_ERROR_ID, bulkhead } from '../../src/wrappers/bulkhead.js';
import { cluster } from '../helpers/services.js';
import { deferred, until } from './support.js';

function outcome(p: Promise<unknown>): Promise<string> {
  return p.then(
    () => 'ok',
    (err: unknown) => (MicroError.is(err) ? `${err.code} ${err.id}` : String(err)),
  );
}

test('server-side: past maxConcurrent running and maxQueue waiting, handlers are refused with 503; the queued one runs when a slot frees', async () => {
  const c = cluster();
  try {
    const gate = deferred();
    let running = 0;
    let maxRunning = 0;
    let changed = (): void => {};
    const server = c.service({
      name: 'bounded',
      wrapHandler: [bulkhead({ maxConcurrent: 2, maxQueue: 1 }).handler],
    });
    server.handle('Bounded', {
      async Work() {
        running++;
        maxRunning = Math.max(maxRunning, running);
        changed();
        await gate.promise;
        running--;
        return {};
      },
    });
    await server.start();
    const client = c.service({ name: 'caller', retries: 0 }).client;

    // Five calls at once: two run, one waits, two are refused without waiting for the gate.
    const settled: string[] = [];
    let onSettle = (): void => {};
    const started = until(
      () => running === 2,
      (check) => {
        changed = check;
      },
    );
    const results = Array.from({ length: 5 }, () =>
      outcome(client.call('bounded', 'Bounded.Work', {}, { timeoutMs: 30_000 })).then((o) => {
        settled.push(o);
        onSettle();
        return o;
      }),
    );
    await started;
    await until(
      () => settled.length === 2,
      (check) => {
        onSettle = check;
      },
    );
    assert.deepEqual(settled, [`503 ${BULKHEAD_ERROR_ID}`, `503 ${BULKHEAD_ERROR_ID}`]);
    assert.equal(running, 2);
    gate.resolve();
    assert.deepEqual((await Promise.all(results)).sort(), [
      '503 tsmicro.bulkhead',
      '503 tsmicro.bulkhead',
      'ok',
      'ok',
      'ok',
    ]);
    assert.equal(maxRunning, 2);
  } finally {
    await c.stopAll();
  }
});

test('client-side: a full compartment refuses the call before it is sent; other services keep their own slots', async () => {
  const c = cluster();
  try {
    const gate = deferred();
    let handled = 0;
    let arrived = (): void => {};
    const slow = c.service({ name: 'slow' });
    slow.handle('Slow', {
      async Work() {
        handled++;
        arrived();
        await gate.promise;
        return {};
      },
    });
    const fast = c.service({ name: 'fast' });
    fast.handle('Fast', {
      async Ping() {
        return {};
      },
    });
    await slow.start();
    await fast.start();
    const client = c.service({
      name: 'caller',
      retries: 0,
      wrapClient: [bulkhead({ maxConcurrent: 1, maxQueue: 0 }).client],
    }).client;

    const inside = until(
      () => handled === 1,
      (check) => {
        arrived = check;
      },
    );
    const first = outcome(client.call('slow', 'Slow.Work', {}, { timeoutMs: 30_000 }));
    await inside;
    assert.equal(await outcome(client.call('slow', 'Slow.Work', {})), `503 ${BULKHEAD_ERROR_ID}`);
    assert.equal(await outcome(client.call('fast', 'Fast.Ping', {})), 'ok');
    assert.equal(handled, 1);
    gate.resolve();
    assert.equal(await first, 'ok');
    assert.equal(await outcome(client.call('slow', 'Slow.Work', {})), 'ok');
  } finally {
    await c.stopAll();
  }
});
