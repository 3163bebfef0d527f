import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  createService,
  InvalidOptionError,
  memoryBroker,
  memoryRegistry,
  type HandleOptions,
} from '../../src/index.js';
import { quietLogger } from '../helpers/services.js';

// The endpointTypes options of handle() and subscribe(): checked when given (a bad one names
// itself), and without them an endpoint is published exactly as before.

const registry = memoryRegistry();

function service() {
  return createService({
    name: 'types',
    registry,
    broker: memoryBroker(),
    logger: quietLogger(),
    address: '127.0.0.1:0',
    handleSignals: false,
  });
}

test('untyped handlers and subscribers publish name and metadata only, as before', async () => {
  const s = service();
  s.handle('Greeter', { Hello: () => ({}) });
  s.subscribe('events', () => {});
  await s.start();
  try {
    const [svc] = await registry.getService('types');
    assert.deepEqual(svc.endpoints, [
      { name: 'Greeter.Hello', metadata: {} },
      { name: 'events', metadata: { topic: 'events', subscriber: 'true' } },
    ]);
  } finally {
    await s.stop();
  }
});

test('Values given are published as given; null publishes a null request', async () => {
  const s = service();
  const request = {
    name: 'Req',
    type: 'Req',
    values: [{ name: 'a', type: 'string', values: null }],
  };
  s.handle(
    'Greeter',
    { Hello: () => ({}) },
    { endpointTypes: { Hello: { request, response: null } } },
  );
  s.subscribe('events', () => {}, { endpointTypes: { request: { name: 'Ev', type: 'Ev' } } });
  await s.start();
  try {
    const [svc] = await registry.getService('types');
    assert.deepEqual(svc.endpoints, [
      { name: 'Greeter.Hello', request, response: null, metadata: {} },
      {
        name: 'events',
        request: { name: 'Ev', type: 'Ev' },
        metadata: { topic: 'events', subscriber: 'true' },
      },
    ]);
  } finally {
    await s.stop();
  }
});

test('a malformed endpointTypes fails handle() and subscribe(), naming the option', () => {
  const s = service();
  const bad: [HandleOptions['endpointTypes'], string][] = [
    [{ Nope: {} }, 'handle.opts.endpointTypes.Nope'],
    [{ Hello: { request: { name: 'R' } as never } }, 'handle.opts.endpointTypes.Hello.request'],
    [
      { Hello: { request: { name: 'R', type: 'R', values: [null as never] } } },
      'handle.opts.endpointTypes.Hello.request.values[0]',
    ],
    [{ Hello: { requestSchema: [] as never } }, 'handle.opts.endpointTypes.Hello.requestSchema'],
    [{ Hello: { responseSchema: { big: 1n } } }, 'handle.opts.endpointTypes.Hello.responseSchema'],
  ];
  for (const [endpointTypes, option] of bad)
    assert.throws(
      () => s.handle(`H${option.length}`, { Hello: () => ({}) }, { endpointTypes }),
      (err: unknown) => err instanceof InvalidOptionError && err.option === option,
      option,
    );
  const cyclic: { name: string; type: string; values: unknown[] } = {
    name: 'C',
    type: 'C',
    values: [],
  };
  cyclic.values.push(cyclic);
  assert.throws(
    () => s.subscribe('t', () => {}, { endpointTypes: { request: cyclic as never } }),
    (err: unknown) => err instanceof InvalidOptionError && /deeper than/.test(err.message),
  );
});
