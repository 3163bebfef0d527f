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
