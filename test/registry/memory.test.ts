import assert from 'node:assert/strict';
import { test } from 'node:test';
import { InvalidOptionError, MicroError } from '../../src/errors.js';
import { memoryRegistry } from '../../src/registry/memory.js';
import type { Node, Service, WatchEvent, Watcher } from '../../src/registry/registry.js';

function node(id: string, metadata: Record<string, string> = {}): Node {
  return { id, address: `127.0.0.1:${1000 + id.length}`, metadata };
}

function svc(name: string, version: string, ...nodes: Node[]): Service {
  return {
    name,
    version,
    metadata: { team: 'a' },
    endpoints: [{ name: 'Greeter.Hello', metadata: {} }],
    nodes,
  };
}

/** The watcher's next event, failing after `ms` rather than hanging the test. */
async function nextEvent(
  watcher: Watcher | AsyncIterator<WatchEvent>,
  ms = 3_000,
): Promise<WatchEvent> {
  const it = Symbol.asyncIterator in watcher ? watcher[Symbol.asyncIterator]() : watcher;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no watch event within ${ms} ms`)), ms);
  });
  try {
    const r = await Promise.race([it.next(), timeout]);
    assert.equal(r.done, false, 'watcher ended');
    return r.value;
  } finally {
    clearTimeout(timer);
  }
}

/** `{action, version, node ids}` — the part of an event the tests compare. */
function summary(e: WatchEvent): [string, string, string[]] {
  return [e.action, e.service.version, e.service.nodes.map((n) => n.id)];
}

test('register makes a node visible to getService and deregister removes it', async () => {
  const reg = memoryRegistry();
  await reg.register(svc('greeter', '1.0.0', node('g-1'), node('g-2')));
  const [found] = await reg.getService('greeter');
  assert.deepEqual(found, svc('greeter', '1.0.0', node('g-1'), node('g-2')));
  await reg.deregister(svc('greeter', '1.0.0', node('g-1')));
  assert.deepEqual(
    (await reg.getService('greeter'))[0]?.nodes.map((n) => n.id),
    ['g-2'],
  );
  await reg.deregister(svc('greeter', '1.0.0', node('g-2')));
  assert.deepEqual(await reg.getService('greeter'), []);
  await reg.close();
});

test('nodes of different versions come back as one Service per version', async () => {
  const reg = memoryRegistry();
  await reg.register(svc('greeter', '1.0.0', node('a')));
  await reg.register(svc('greeter', '2.0.0', node('b')));
  await reg.register(svc('greeter', '1.0.0', node('c')));
  const found = await reg.getService('greeter');
  assert.deepEqual(
    found.map((s) => [s.version, s.nodes.map((n) => n.id)]),
    [
      ['1.0.0', ['a', 'c']],
      ['2.0.0', ['b']],
    ],
  );
  assert.deepEqual(
    (await reg.listServices()).map((s) => [s.name, s.version]),
    [
      ['greeter', '1.0.0'],
      ['greeter', '2.0.0'],
    ],
  );
  await reg.deregister(svc('greeter', '2.0.0', node('b')));
  assert.deepEqual(
    (await reg.getService('greeter')).map((s) => s.version),
    ['1.0.0'],
    'a version without nodes is removed',
  );
  await reg.close();
});

test('an unknown service gives an empty list', async () => {
  const reg = memoryRegistry();
  assert.deepEqual(await reg.getService('nope'), []);
  await reg.deregister(svc('nope', '1', node('x'))); // unknown nodes are ignored
  await reg.close();
});

test('a node whose TTL runs out is dropped and watchers get a delete from the expiry timer', async () => {
  const reg = memoryRegistry();
  await using watcher = reg.watch({ service: 'greeter' });
  await reg.register(svc('greeter', '1.0.0', node('short')), { ttlMs: 50 });
  await reg.register(svc('greeter', '1.0.0', node('forever')), { ttlMs: 0 });
  assert.deepEqual(summary(await nextEvent(watcher)), ['create', '1.0.0', ['short']]);
  assert.deepEqual(summary(await nextEvent(watcher)), ['create', '1.0.0', ['forever']]);
  // Nobody calls the registry here: only its timer can produce this event.
  assert.deepEqual(summary(await nextEvent(watcher)), ['delete', '1.0.0', ['short']]);
  assert.deepEqual(
    (await reg.getService('greeter'))[0]?.nodes.map((n) => n.id),
    ['forever'],
  );
  await reg.close();
});

test('re-registering renews the TTL (the heartbeat)', async () => {
  const reg = memoryRegistry();
  await using watcher = reg.watch();
  await reg.register(svc('greeter', '1.0.0', node('a')), { ttlMs: 30 });
  await reg.register(svc('greeter', '1.0.0', node('a')), { ttlMs: 60_000 });
  await reg.register(svc('marker', '1', node('m')), { ttlMs: 60 });
  assert.deepEqual(summary(await nextEvent(watcher)), ['create', '1.0.0', ['a']]);
  assert.deepEqual(summary(await nextEvent(watcher)), ['create', '1', ['m']]);
  // The marker outlives the first TTL of `a`: had the renewal not counted, `a`'s delete would come
  // first.
  assert.deepEqual(summary(await nextEvent(watcher)), ['delete', '1', ['m']]);
  assert.equal((await reg.getService('greeter'))[0]?.nodes.length, 1);
  await reg.close();
});

test('watch reports create, update and delete in the order they happen', async () => {
  const reg = memoryRegistry();
  await using watcher = reg.watch();
  await reg.register(svc('greeter', '1.0.0', node('a', { weight: '1' })));
  await reg.register(svc('greeter', '1.0.0', node('a', { weight: '5' })));
  await reg.deregister(svc('greeter', '1.0.0', node('a')));
  const events = [await nextEvent(watcher), await nextEvent(watcher), await nextEvent(watcher)];
  assert.deepEqual(events.map(summary), [
    ['create', '1.0.0', ['a']],
    ['update', '1.0.0', ['a']],
    ['delete', '1.0.0', ['a']],
  ]);
  assert.equal(
    events[1].service.nodes[0].metadata.weight,
    '5',
    'an update carries the new content',
  );
  assert.deepEqual(events[0].service.endpoints, [{ name: 'Greeter.Hello', metadata: {} }]);
  await reg.close();
});

test('a heartbeat with unchanged content emits no event', async () => {
  const reg = memoryRegistry();
  await using watcher = reg.watch();
  await reg.register(svc('greeter', '1.0.0', node('a')), { ttlMs: 60_000 });
  await reg.register(svc('greeter', '1.0.0', node('a')), { ttlMs: 60_000 });
  await reg.register(svc('marker', '1', node('m')));
  assert.deepEqual(summary(await nextEvent(watcher)), ['create', '1.0.0', ['a']]);
  assert.deepEqual(
    summary(await nextEvent(watcher)),
    ['create', '1', ['m']],
    'the renewal produced nothing in between',
  );
  await reg.close();
});

test('a node re-registered under another version is deleted from the old version before it is created in the new', async () => {
  const reg = memoryRegistry();
  await reg.register(svc('greeter', '1.0.0', node('a')));
  await using watcher = reg.watch({ service: 'greeter' });
  await reg.register(svc('greeter', '2.0.0', node('a')));
  assert.deepEqual(summary(await nextEvent(watcher)), ['delete', '1.0.0', ['a']]);
  assert.deepEqual(summary(await nextEvent(watcher)), ['create', '2.0.0', ['a']]);
  assert.deepEqual(
    (await reg.getService('greeter')).map((s) => s.version),
    ['2.0.0'],
  );
  await reg.close();
});

test('a watch for one service sees nothing of the others', async () => {
  const reg = memoryRegistry();
  await using watcher = reg.watch({ service: 'greeter' });
  await reg.register(svc('other', '1', node('o')));
  await reg.register(svc('greeter', '1', node('g')));
  assert.deepEqual(summary(await nextEvent(watcher)), ['create', '1', ['g']]);
  await reg.close();
});

test("getService returns copies: neither the caller's input nor its results alias the registry", async () => {
  const reg = memoryRegistry();
  const input = svc('greeter', '1.0.0', node('a', { weight: '1' }));
  await reg.register(input);
  input.nodes[0].metadata.weight = 'changed-input';
  input.nodes.push(node('intruder'));
  const [first] = await reg.getService('greeter');
  first.nodes[0].metadata.weight = 'changed-result';
  first.nodes.push(node('intruder'));
  first.metadata!.team = 'changed';
  const [again] = await reg.getService('greeter');
  assert.deepEqual(again, svc('greeter', '1.0.0', node('a', { weight: '1' })));
  await reg.close();
});

test('each watcher gets its own copy of an event', async () => {
  const reg = memoryRegistry();
  await using w1 = reg.watch();
  await using w2 = reg.watch();
  await reg.register(svc('greeter', '1', node('a', { k: 'v' })));
  const e1 = await nextEvent(w1);
  e1.service.nodes[0].metadata.k = 'mutated';
  assert.equal((await nextEvent(w2)).service.nodes[0].metadata.k, 'v');
  await reg.close();
});

test("stop() ends a watcher's iteration and close() ends every watcher", async () => {
  const reg = memoryRegistry();
  const stopped = reg.watch();
  const open = reg.watch();
  stopped.stop();
  assert.deepEqual(await stopped[Symbol.asyncIterator]().next(), { value: undefined, done: true });
  const pending = open[Symbol.asyncIterator]().next();
  await reg.close();
  assert.deepEqual(await pending, { value: undefined, done: true });
});

test('a closed registry rejects calls with 503', async () => {
  const reg = memoryRegistry();
  await reg.close();
  await assert.rejects(reg.getService('greeter'), (err: unknown) => MicroError.is(err, 503));
  await assert.rejects(reg.register(svc('greeter', '1', node('a'))), (err: unknown) =>
    MicroError.is(err, 503),
  );
  await assert.rejects(reg.watch()[Symbol.asyncIterator]().next(), (err: unknown) =>
    MicroError.is(err, 503),
  );
});

test('register rejects a malformed service or TTL with 400', async () => {
  const reg = memoryRegistry();
  await assert.rejects(reg.register(svc('', '1', node('a'))), (err: unknown) =>
    MicroError.is(err, 400),
  );
  await assert.rejects(reg.register(svc('greeter', '1', node(''))), (err: unknown) =>
    MicroError.is(err, 400),
  );
  await assert.rejects(
    reg.register(svc('greeter', '1', node('a')), { ttlMs: -1 }),
    (err: unknown) => MicroError.is(err, 400),
  );
  assert.deepEqual(await reg.listServices(), []);
  await reg.close();
});

test('the name option is published as the registry name and validated at construction', () => {
  assert.equal(memoryRegistry().name, 'memory');
  assert.equal(memoryRegistry({ name: 'mem2' }).name, 'mem2');
  assert.throws(
    () => memoryRegistry({ name: '' }),
    (err: unknown) => err instanceof InvalidOptionError && err.option === 'name',
  );
});
