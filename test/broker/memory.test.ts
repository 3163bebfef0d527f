import { test } from 'node:test';
import assert from 'node:assert/strict';
import { memoryBroker } from '../../src/broker/memory.js';
import type { BrokerMessage } from '../../src/broker/broker.js';

const msg = (n: number): BrokerMessage => ({ header: { n: String(n) }, body: new Uint8Array([n]) });

/** Resolves once `count` deliveries were recorded. */
function collector(count: number): {
  got: string[];
  handler: (name: string) => (m: BrokerMessage) => Promise<void>;
  done: Promise<void>;
} {
  const got: string[] = [];
  let resolve!: () => void;
  const done = new Promise<void>((r) => {
    resolve = r;
  });
  return {
    got,
    done,
    handler: (name) => async (m) => {
      got.push(`${name}:${m.header.n}`);
      if (got.length === count) resolve();
    },
  };
}

test('without a queue every subscriber receives every message', async () => {
  const broker = memoryBroker();
  const c = collector(6);
  await broker.subscribe('t', c.handler('a'));
  await broker.subscribe('t', c.handler('b'));
  await broker.subscribe('other', c.handler('x'));
  for (const n of [1, 2, 3]) await broker.publish('t', msg(n));
  await c.done;
  assert.deepEqual(c.got.sort(), ['a:1', 'a:2', 'a:3', 'b:1', 'b:2', 'b:3']);
});

test('a queue group shares messages: each goes to exactly one member', async () => {
  const broker = memoryBroker();
  const c = collector(10 + 10);
  await broker.subscribe('t', c.handler('q1'), { queue: 'workers' });
  await broker.subscribe('t', c.handler('q2'), { queue: 'workers' });
  await broker.subscribe('t', c.handler('all'));
  for (let n = 0; n < 10; n++) await broker.publish('t', msg(n));
  await c.done;
  const queued = c.got.filter((g) => g.startsWith('q'));
  assert.equal(queued.length, 10);
  assert.deepEqual(
    new Set(queued.map((g) => g.split(':')[1])).size,
    10,
    'no message twice in the group',
  );
  assert.ok(
    queued.some((g) => g.startsWith('q1')) && queued.some((g) => g.startsWith('q2')),
    'load is shared',
  );
  assert.equal(c.got.filter((g) => g.startsWith('all')).length, 10);
});

test('a failing handler is reported and later messages still arrive; unsubscribe stops delivery', async () => {
  const errors: unknown[] = [];
  const broker = memoryBroker({ onError: (err) => errors.push(err) });
  const c = collector(2);
  const sub = await broker.subscribe('t', async (m) => {
    if (m.header.n === '1') throw new Error('bad');
    await c.handler('s')(m);
  });
  for (const n of [1, 2, 3]) await broker.publish('t', msg(n));
  await c.done;
  assert.equal(errors.length, 1);
  await sub.unsubscribe();
  await broker.publish('t', msg(4));
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(c.got, ['s:2', 's:3']);
});
