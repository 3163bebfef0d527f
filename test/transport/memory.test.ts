import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MicroError } from '../../src/errors.js';
import { memoryTransport } from '../../src/transport/memory.js';
import { echoDispatcher } from '../fixtures/transport-echo.js';
import { echoHead, transportConformance } from '../fixtures/transport-conformance.js';

transportConformance('memory', (opts) => memoryTransport(opts), { cancelIsDistinct: true });

test('memory: listeners belong to their transport instance', async () => {
  const a = memoryTransport();
  const b = memoryTransport();
  const listener = await a.listen('127.0.0.1:0', echoDispatcher());
  const err = await b
    .dial(listener.address)
    .call(echoHead('Echo.Say'), new Uint8Array())
    .catch((e: unknown) => e);
  assert.ok(MicroError.is(err, 503) && err.fault?.reason === 'refused', String(err));
  await listener.close();
});

test('memory: port 0 gets a fresh fake port; a fixed port is taken as given and only once', async () => {
  const t = memoryTransport();
  const first = await t.listen('127.0.0.1:0', echoDispatcher());
  const second = await t.listen('127.0.0.1:0', echoDispatcher());
  assert.notEqual(first.address, second.address);
  const fixed = await t.listen('10.0.0.1:7000', echoDispatcher());
  assert.equal(fixed.address, '10.0.0.1:7000');
  await assert.rejects(t.listen('10.0.0.1:7000', echoDispatcher()), /already in use/);
  await Promise.all([first.close(), second.close(), fixed.close()]);
  // A closed address can be listened on again.
  await (await t.listen('10.0.0.1:7000', echoDispatcher())).close();
});

test('memory: the request body is copied, so the caller changing it later does not reach the handler', async () => {
  const t = memoryTransport();
  const dispatcher = echoDispatcher();
  let seen: Uint8Array | undefined;
  const listener = await t.listen('127.0.0.1:0', {
    ...dispatcher,
    unary: async (_head, body) => {
      seen = body;
      return body;
    },
  });
  const body = new Uint8Array([1, 2, 3]);
  const reply = await t.dial(listener.address).call(echoHead('Echo.Say'), body);
  body.fill(0);
  assert.deepEqual([...seen!], [1, 2, 3]);
  assert.deepEqual([...reply], [1, 2, 3]);
  await listener.close();
});
