import { test } from 'node:test';
import assert from 'node:assert/strict';
import { byVersion, memoryRegistry, MicroError, registrySelector } from '../../src/index.js';

const node = (id: string) => ({ id, address: `127.0.0.1:${id === 'a' ? 1 : 2}`, metadata: {} });

test('selectCached answers only from a warm cache, with the same filters and errors as select()', async (t) => {
  const registry = memoryRegistry();
  await registry.register({
    name: 'svc',
    version: '1',
    metadata: {},
    endpoints: [],
    nodes: [node('a')],
  });
  await registry.register({
    name: 'svc',
    version: '2',
    metadata: {},
    endpoints: [],
    nodes: [node('b')],
  });
  const selector = registrySelector({ registry });
  t.after(() => selector.close());

  // Nothing looked up yet: the caller must take the async path (a registry lookup).
  assert.equal(selector.selectCached!('svc'), undefined);
  await selector.select('svc');
  const next = selector.selectCached!('svc', { filters: [byVersion('2')] });
  assert.ok(next, 'a warm cache answers at once');
  assert.equal(next().id, 'b');
  selector.mark('svc', node('b'));

  // A filter that leaves nothing fails as select() does.
  assert.throws(
    () => selector.selectCached!('svc', { filters: [byVersion('9')] }),
    (err) => MicroError.is(err, 503) && /none available/.test(err.detail),
  );
  await assert.rejects(
    selector.select('svc', { filters: [byVersion('9')] }),
    (err) => MicroError.is(err, 503) && /none available/.test(err.detail),
  );
  await registry.close();
});
