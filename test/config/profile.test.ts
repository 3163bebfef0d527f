import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createService, InvalidOptionError, memoryRegistry, readConfig } from '../../src/index.js';
import { quietLogger } from '../helpers/services.js';

// The preset: one word (`profile`, `--profile`, `MICRO_PROFILE`) gives go-micro's default stack,
// checked on what a started service really registers.

async function nodeOf(opts: Parameters<typeof createService>[0]) {
  const registry = memoryRegistry();
  const service = createService({ ...opts, registry, logger: quietLogger(), handleSignals: false });
  service.handle('Greeter', { Hello: () => ({}) });
  await service.start();
  try {
    return (await registry.getService(opts.name!))[0].nodes[0];
  } finally {
    await service.stop();
  }
}

test("profile 'go-micro' (and MICRO_PROFILE=local, go-micro's name): the node serves go-micro's HTTP transport with mucp and the HTTP broker", async () => {
  for (const opts of [
    { name: 'p.code', profile: 'go-micro' as const, env: false as const },
    { name: 'p.env', env: { MICRO_PROFILE: 'local' } },
    { name: 'p.flag', env: false as const, flags: ['--profile', 'go-micro'] },
  ]) {
    const node = await nodeOf(opts);
    assert.equal(node.metadata.transport, 'http', opts.name);
    assert.equal(node.metadata.protocol, 'mucp', opts.name);
    assert.equal(node.metadata.server, 'mucp', opts.name);
    assert.equal(node.metadata.broker, 'http', opts.name);
  }
});

test('a component named on its own wins over the profile; code wins over MICRO_PROFILE', async () => {
  const grpc = await nodeOf({
    name: 'p.mixed',
    env: { MICRO_PROFILE: 'local', MICRO_TRANSPORT: 'grpc' },
  });
  assert.equal(grpc.metadata.protocol, 'grpc');
  const dual = await nodeOf({ name: 'p.none', env: { MICRO_TRANSPORT: 'dual' } });
  assert.equal(dual.metadata.protocol, 'grpc');
  const viaTransportFlag = await nodeOf({ name: 'p.http', env: { MICRO_TRANSPORT: 'http' } });
  assert.equal(viaTransportFlag.metadata.protocol, 'mucp');
});

test('an unknown profile fails at createService, naming where it came from', () => {
  assert.throws(
    () =>
      createService({ name: 'p.bad', env: { MICRO_PROFILE: 'gomicro' }, logger: quietLogger() }),
    (err) =>
      err instanceof InvalidOptionError &&
      /MICRO_PROFILE/.test(err.message) &&
      /local, go-micro/.test(err.message),
  );
  assert.throws(
    () =>
      createService({
        name: 'p.bad',
        env: false,
        profile: 'default' as 'local',
        logger: quietLogger(),
      }),
    (err) => err instanceof InvalidOptionError && /profile/.test(err.message),
  );
});

test('the mdns registry takes no address: naming one fails at createService, naming the variable', () => {
  assert.throws(
    () =>
      createService({
        name: 'p.mdns',
        env: { MICRO_PROFILE: 'go-micro', MICRO_REGISTRY_ADDRESS: '127.0.0.1:5353' },
        logger: quietLogger(),
      }),
    (err) =>
      err instanceof InvalidOptionError &&
      /MICRO_REGISTRY_ADDRESS/.test(err.message) &&
      /mdns registry takes no address/.test(err.message),
  );
});

test('readConfig applies MICRO_PROFILE too (what the tsmicro command reads), under the settings named on their own', () => {
  const cfg = readConfig({ env: { MICRO_PROFILE: 'local', MICRO_BROKER: 'nats' } });
  assert.deepEqual(cfg.values, {
    profile: 'local',
    registry: 'mdns',
    broker: 'nats',
    transport: 'http',
  });
  assert.deepEqual(cfg.origin, {
    profile: 'MICRO_PROFILE',
    registry: 'MICRO_PROFILE',
    broker: 'MICRO_BROKER',
    transport: 'MICRO_PROFILE',
  });
});
