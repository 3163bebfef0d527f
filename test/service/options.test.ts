import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  createServer,
  createService,
  InvalidOptionError,
  jsonCodec,
  memoryBroker,
  memoryRegistry,
  memoryTransport,
} from '../../src/index.js';
import { quietLogger } from '../helpers/services.js';

const base = { name: 'opts', registry: memoryRegistry(), logger: quietLogger() };
const serverBase = {
  ...base,
  transport: memoryTransport(),
  broker: memoryBroker(),
  codecs: [jsonCodec()],
};

function throwsOption(fn: () => unknown, option: string): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof InvalidOptionError, `expected InvalidOptionError, got ${String(err)}`);
    assert.ok(err instanceof TypeError, 'bad options are TypeErrors');
    assert.equal(err.option, option);
    assert.match(err.message, new RegExp(option.replace('.', '\\.')));
    return true;
  });
}

test('bad options throw at construction, naming the option', () => {
  throwsOption(() => createService({ ...base, registerTtlMs: -1 }), 'registerTtlMs');
  throwsOption(
    () => createService({ ...base, registerTtlMs: 1000, registerIntervalMs: 1000 }),
    'registerIntervalMs',
  );
  throwsOption(() => createService({ ...base, contentType: 'application/xml' }), 'contentType');
  throwsOption(() => createService({ ...base, address: 'localhost' }), 'address');
  throwsOption(() => createService({ ...base, address: '127.0.0.1:99999' }), 'address');
  throwsOption(() => createService({ ...base, timeoutMs: Number.NaN }), 'timeoutMs');
  throwsOption(() => createService({ ...base, retries: 1.5 }), 'retries');
  throwsOption(() => createService({ ...base, name: '' }), 'name');
  throwsOption(() => createService({ ...base, registry: {} as never }), 'registry');
});

test('a name or node id a registry cannot hold is an InvalidOptionError naming the option', () => {
  for (const name of [
    'a b',
    'greeter/v1',
    '/',
    ' greeter',
    'greeter\n',
    'a:b',
    '.hidden',
    '-x',
    'Grüße',
  ])
    throwsOption(() => createService({ ...base, name }), 'name');
  throwsOption(() => createServer({ ...serverBase, id: 'a/b' }), 'id');
  throwsOption(() => createServer({ ...serverBase, id: 'two words' }), 'id');
  throwsOption(() => createServer({ ...serverBase, name: 'a b' }), 'name');
  // go-micro's own names, and what tsmicro's examples use, are accepted.
  for (const name of [
    'helloworld',
    'go.micro.srv.greeter',
    'micro.http.broker',
    'my_service-2',
    '1st',
  ])
    assert.equal(createService({ ...base, name }).name, name);
  // A version is stored encoded or as a value by every registry: spaces and slashes are fine.
  assert.doesNotThrow(() => createService({ ...base, version: 'v1.2 beta/3' }));
  throwsOption(() => createService({ ...base, version: '' }), 'version');
});

test('a malformed handler is refused when it is added, not when it is called', () => {
  const s = createService(base);
  throwsOption(() => s.handle('Bad.Name', { X: async () => 1 }), 'handle.name');
  throwsOption(() => s.handle('Empty', {}), 'handle.methods');
  throwsOption(() => s.handle('Wrong', { X: 42 as never }), 'handle.methods.X');
  s.handle('Good', { X: async () => 1 });
  throwsOption(() => s.handle('Good', { Y: async () => 1 }), 'handle.name');
});

test('bad per-call options reject the call with the option named', async () => {
  const s = createService(base);
  await assert.rejects(
    s.client.call('x', 'A.B', {}, { timeoutMs: -5 }),
    (err: unknown) => err instanceof InvalidOptionError && err.option === 'call.timeoutMs',
  );
  await assert.rejects(
    s.client.call('x', 'A.B', {}, { address: 'nope' }),
    (err: unknown) => err instanceof InvalidOptionError && err.option === 'call.address[0]',
  );
});

test('a bad per-call option rejects that call (never throws synchronously), names the option, and sends nothing', async () => {
  const registry = memoryRegistry();
  const broker = memoryBroker();
  const shared = { registry, broker, logger: quietLogger() };
  const server = createService({ ...shared, name: 'counted' });
  let handled = 0;
  let delivered = 0;
  let arrived!: () => void;
  const goodEventArrived = new Promise<void>((resolve) => {
    arrived = resolve;
  });
  server.handle('C', {
    async Hit() {
      handled++;
      return {};
    },
  });
  server.subscribe('counted.events', () => {
    delivered++;
    arrived();
  });
  await server.start();
  const client = createService({ ...shared, name: 'caller' }).client;
  try {
    const cases: [string, () => Promise<unknown>][] = [
      ['call.timeoutMs', () => client.call('counted', 'C.Hit', {}, { timeoutMs: -5 })],
      [
        'call.attemptTimeoutMs',
        () => client.call('counted', 'C.Hit', {}, { attemptTimeoutMs: NaN }),
      ],
      ['call.retries', () => client.call('counted', 'C.Hit', {}, { retries: 1.5 })],
      ['call.contentType', () => client.call('counted', 'C.Hit', {}, { contentType: 'xml' })],
      [
        'call.metadata.n',
        () => client.call('counted', 'C.Hit', {}, { metadata: { n: 1 as unknown as string } }),
      ],
      ['call.address[0]', () => client.call('counted', 'C.Hit', {}, { address: 'nope' })],
      ['call.timeoutMs', () => client.stream('counted', 'C.Hit', { timeoutMs: -1 })],
      [
        'publish.contentType',
        () => client.publish('counted.events', {}, { contentType: 'application/xml' }),
      ],
    ];
    for (const [option, make] of cases) {
      let pending: Promise<unknown> | undefined;
      assert.doesNotThrow(() => {
        pending = make();
      }, `${option}: a per-call option is reported through the promise`);
      await assert.rejects(pending!, (err: unknown) => {
        assert.ok(err instanceof InvalidOptionError, `${option}: got ${String(err)}`);
        assert.equal(err.option, option);
        return true;
      });
    }
    assert.equal(handled, 0, 'no bad call reached the server');
    // The same calls with good options do arrive: the counters count. Events are delivered in
    // order, so once the good one is in, any bad one that had been sent would be too.
    await client.call('counted', 'C.Hit', {}, { timeoutMs: 5_000 });
    await client.publish('counted.events', {});
    await goodEventArrived;
    assert.equal(handled, 1);
    assert.equal(delivered, 1, 'no bad publish reached the broker');
  } finally {
    await server.stop();
  }
});
