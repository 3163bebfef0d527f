import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { BrokerMessage } from '../../../src/broker/broker.js';
import { natsBroker } from '../../../src/broker/nats/nats.js';
import { natsSkipReason, startNatsServer, waitUntil } from '../../helpers/nats.js';

const quiet = {
  debug() {},
  info() {},
  warn() {},
  error() {},
  child() {
    return quiet;
  },
};
const msg = (id: number): BrokerMessage => ({
  header: {},
  body: new TextEncoder().encode(String(id)),
});

test(
  'a durable subscription resumes after the NATS server restarts, and what was published meanwhile arrives',
  { skip: natsSkipReason(), timeout: 90_000 },
  async () => {
    await using nats = await startNatsServer();
    const jetstream = { stream: 'RESTART', subjects: ['restart.>'], ackWaitMs: 1_000 };
    const opts = {
      servers: nats.url,
      reconnectBaseMs: 50,
      reconnectMaxMs: 500,
      logger: quiet,
      jetstream,
    };
    const subscriber = natsBroker(opts);
    const publisher = natsBroker(opts);
    const got = new Set<number>();
    try {
      await subscriber.subscribe(
        'restart.jobs',
        async (m) => {
          got.add(Number(new TextDecoder().decode(m.body)));
        },
        { queue: 'workers' },
      );
      for (let id = 1; id <= 50; id++) await publisher.publish('restart.jobs', msg(id));
      await waitUntil(
        () => got.size === 50,
        30_000,
        () => `the first 50 (have ${got.size})`,
      );

      await nats.kill();
      await waitUntil(
        () => subscriber.stats().disconnects === 1 && publisher.stats().disconnects === 1,
        30_000,
        () => 'both to see the outage',
      );
      // A durable publish cannot be held (it needs the stream's ack): it fails at once with 503
      // during the outage.
      await assert.rejects(
        publisher.publish('restart.jobs', msg(999)),
        (err: unknown) => (err as { code?: number }).code === 503,
      );
      await nats.start();
      await waitUntil(
        () => publisher.stats().reconnects === 1,
        30_000,
        () => 'the publisher to reconnect',
      );
      for (let id = 51; id <= 100; id++) await publisher.publish('restart.jobs', msg(id));
      await waitUntil(
        () => [...Array(100).keys()].every((i) => got.has(i + 1)),
        60_000,
        () => `all 100 after the restart (have ${got.size})`,
      );
      assert.ok(!got.has(999), 'the refused publish was not delivered');
      assert.equal(
        subscriber.stats().reconnects,
        1,
        'the same subscription, reconnected — not a new broker',
      );
    } finally {
      await subscriber.disconnect();
      await publisher.disconnect();
    }
  },
);
