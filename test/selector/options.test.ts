import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  createService,
  InvalidOptionError,
  memoryRegistry,
  registrySelector,
} from '../../src/index.js';
import type { Strategy } from '../../src/plugin.js';

const registry = memoryRegistry();
const fails =
  (option: string) =>
  (err: unknown): boolean =>
    err instanceof InvalidOptionError && err.option === option;

test('an unknown strategy name fails at construction, naming the option and the choices', () => {
  assert.throws(
    () => registrySelector({ registry, strategy: 'fastest' as unknown as Strategy }),
    (err: unknown) =>
      fails('selector.strategy')(err) &&
      /random, roundRobin, leastRequest, weighted/.test((err as Error).message),
  );
  assert.throws(
    () => registrySelector({ registry, strategy: 42 as unknown as Strategy }),
    fails('selector.strategy'),
  );
  for (const strategy of ['random', 'roundRobin', 'leastRequest', 'weighted'] as const)
    registrySelector({ registry, strategy });
});

test('bad ejection options fail at construction', () => {
  assert.throws(
    () => registrySelector({ registry, ejection: { maxShare: 1.5 } }),
    fails('selector.ejection.maxShare'),
  );
  assert.throws(
    () => registrySelector({ registry, ejection: { afterFaults: 1.5 } }),
    fails('selector.ejection.afterFaults'),
  );
  assert.throws(
    () => registrySelector({ registry, ejection: { baseMs: 5_000, maxMs: 1_000 } }),
    fails('selector.ejection.maxMs'),
  );
});

test('a negative timeout fails at construction; per call, before anything is sent', async () => {
  assert.throws(() => createService({ name: 'x', registry, timeoutMs: -1 }), fails('timeoutMs'));
  assert.throws(() => createService({ name: 'x', registry, retries: -1 }), fails('retries'));
  const svc = createService({ name: 'x', registry });
  await assert.rejects(svc.client.call('y', 'A.B', {}, { timeoutMs: -5 }), fails('call.timeoutMs'));
  await assert.rejects(
    svc.client.call('y', 'A.B', {}, { attemptTimeoutMs: -1 }),
    fails('call.attemptTimeoutMs'),
  );
  await svc.stop();
});
