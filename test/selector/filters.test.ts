import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  byEndpoint,
  byMetadata,
  byVersion,
  canary,
  InvalidOptionError,
  type RegistryService,
} from '../../src/index.js';

const services: RegistryService[] = [
  {
    name: 'svc',
    version: '1.0.0',
    endpoints: [{ name: 'Greeter.Hello', metadata: {} }],
    nodes: [
      { id: 'v1-a', address: 'x:1', metadata: { zone: 'a' } },
      { id: 'v1-b', address: 'x:2', metadata: { zone: 'b' } },
    ],
  },
  {
    name: 'svc',
    version: '2.0.0',
    endpoints: [
      { name: 'Greeter.Hello', metadata: {} },
      { name: 'Greeter.Bye', metadata: {} },
    ],
    nodes: [{ id: 'v2-a', address: 'x:3', metadata: { zone: 'a' } }],
  },
];
const ids = (s: RegistryService[]): string[] => s.flatMap((x) => x.nodes.map((n) => n.id));

test('version, metadata label and endpoint filters keep what they name', () => {
  assert.deepEqual(ids(byVersion('2.0.0')(services)), ['v2-a']);
  assert.deepEqual(ids(byMetadata('zone', 'a')(services)), ['v1-a', 'v2-a']);
  assert.deepEqual(ids(byMetadata('zone', 'c')(services)), []);
  assert.deepEqual(ids(byEndpoint('Greeter.Bye')(services)), ['v2-a']);
});

test('canary splits calls between versions by weight (95/5)', () => {
  const split = canary({ '1.0.0': 95, '2.0.0': 5 });
  let v2 = 0;
  const n = 4_000;
  for (let i = 0; i < n; i++) if (split(services)[0].version === '2.0.0') v2++;
  assert.ok(
    v2 / n > 0.03 && v2 / n < 0.07,
    `about 5 % to 2.0.0, got ${((v2 / n) * 100).toFixed(1)} %`,
  );
});

test('canary: a version with no nodes takes nothing; the others share its part', () => {
  const onlyV1 = services.filter((s) => s.version === '1.0.0');
  const split = canary({ '1.0.0': 5, '2.0.0': 95 });
  for (let i = 0; i < 50; i++) assert.equal(split(onlyV1)[0].version, '1.0.0');
});

test('malformed filters fail when built', () => {
  assert.throws(() => canary({}), InvalidOptionError);
  assert.throws(
    () => canary({ '1.0.0': -1 }),
    (e: unknown) => e instanceof InvalidOptionError && e.option === 'canary.split.1.0.0',
  );
  assert.throws(() => canary({ '1.0.0': 0 }), InvalidOptionError);
  assert.throws(() => byVersion(), InvalidOptionError);
});
