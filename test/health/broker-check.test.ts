import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createService, memoryRegistry } from '../../src/index.js';
import { natsBroker } from '../../src/broker/nats/nats.js';
import { natsSkipReason, startNatsServer } from '../helpers/nats.js';
import { quietLogger } from '../helpers/services.js';
import { waitFor } from '../helpers/wait.js';

test(
  'the built-in broker check follows a real NATS going away and coming back; made critical, it gates readiness',
  { skip: natsSkipReason(), timeout: 60_000 },
  async () => {
    await using nats = await startNatsServer();
    const registry = memoryRegistry();
    const nb = natsBroker({
      servers: nats.url,
      reconnectBaseMs: 50,
      reconnectMaxMs: 200,
      logger: quietLogger(),
    });
    // A broker passed in is the caller's to close.
    await using _broker = { [Symbol.asyncDispose]: () => nb.disconnect() };
    await using service = createService({
      name: 'health.broker',
      registry,
      broker: nb,
      logger: quietLogger(),
      drainDelayMs: 0,
      health: { brokerCheck: { critical: true, intervalMs: 50, timeoutMs: 1_000 } },
    });
    await service.start();
    const broker = () => service.health.report().checks.find((c) => c.name === 'broker')!;
    assert.equal(broker().status, 'up');
    assert.equal(service.health.ready, true);

    await nats.kill();
    await waitFor(() => !service.health.ready, 20_000, 'not ready once NATS is gone');
    assert.equal(broker().status, 'down');
    assert.match(broker().error ?? '', /NATS/);
    await waitFor(
      async () => (await registry.getService('health.broker')).length === 0,
      5_000,
      'the node to leave the registry',
    );

    await nats.start();
    await waitFor(() => service.health.ready, 20_000, 'ready once NATS is back');
    assert.equal(broker().status, 'up');
  },
);
