import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'nats';
import { createService, memoryRegistry, type Logger } from '../../../src/index.js';
import { natsBroker } from '../../../src/broker/nats/nats.js';
import { durableName } from '../../../src/broker/nats/durable.js';
import { natsSkipReason, startNatsServer, waitUntil } from '../../helpers/nats.js';

/** A logger that records `level msg` lines, so the test can see what was logged. */
function recordingLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const at =
    (level: string) =>
    (_obj: object, msg?: string): void => {
      lines.push(`${level} ${msg ?? ''}`);
    };
  const logger = {
    lines,
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    child: () => logger,
  };
  return logger;
}

const GARBAGE = [
  'not json at all',
  '[1,2,3]',
  '{"Header":{"Content-Type":"application/json"},"Body":"%%% not base64 %%%"}',
  '{"Header":{"Content-Type":7},"Body":""}',
  // A valid envelope whose body the JSON codec cannot read: the subscriber rejects it (400).
  `{"Header":{"Content-Type":"application/json"},"Body":"${Buffer.from('{broken').toString('base64')}"}`,
];

for (const durable of [false, true]) {
  test(
    `malformed payloads on the subject are logged, counted and skipped; the subscriber lives (${durable ? 'durable' : 'core'} NATS)`,
    { skip: natsSkipReason(), timeout: 60_000 },
    async () => {
      await using nats = await startNatsServer();
      const brokerLog = recordingLogger();
      const serviceLog = recordingLogger();
      const jetstream = {
        stream: 'BAD',
        subjects: ['bad.>'],
        ackWaitMs: 500,
        redeliveryDelayMs: 10,
      };
      const broker = natsBroker({
        servers: nats.url,
        logger: brokerLog,
        ...(durable ? { jetstream } : {}),
      });
      const received: number[] = [];
      await using service = createService({
        name: 'malformed-sub',
        broker,
        registry: memoryRegistry(),
        logger: serviceLog,
        drainDelayMs: 0,
      });
      service.subscribe<{ id: number }>(
        'bad.topic',
        async (e) => {
          received.push(e.id);
        },
        { queue: 'q' },
      );
      await service.start();
      const raw = await connect({ servers: nats.url });
      try {
        const publish = durable
          ? async (s: string) => {
              await raw.jetstream().publish('bad.topic', new TextEncoder().encode(s));
            }
          : async (s: string) => {
              raw.publish('bad.topic', new TextEncoder().encode(s));
            };
        for (const g of GARBAGE) await publish(g);
        await service.client.publish('bad.topic', { id: 1 });
        await waitUntil(
          () => broker.stats().delivered === 1,
          30_000,
          () => 'the valid event after the garbage',
        );

        assert.deepEqual(received, [1]);
        assert.equal(broker.stats().malformed, GARBAGE.length, 'every bad payload counted once');
        assert.equal(broker.stats().delivered, 1);
        assert.equal(
          brokerLog.lines.filter((l) => l === 'warn skipped a malformed message').length,
          GARBAGE.length - 1,
          'envelope errors logged by the broker',
        );
        assert.equal(
          serviceLog.lines.filter((l) => l === 'error subscriber failed').length,
          1,
          'the undecodable body logged by the server',
        );
        if (durable) {
          // Poison is terminated, never redelivered: the consumer ends with nothing pending.
          const jsm = await raw.jetstreamManager();
          const name = durableName('q', 'bad.topic');
          let info = await jsm.consumers.info('BAD', name);
          for (let i = 0; i < 100 && info.num_ack_pending > 0; i++) {
            await new Promise((r) => setTimeout(r, 50));
            info = await jsm.consumers.info('BAD', name);
          }
          assert.equal(info.num_ack_pending, 0);
          assert.equal(info.num_redelivered, 0);
          assert.equal(broker.stats().redelivered, 0);
        }
      } finally {
        await raw.close();
        await service.stop();
        await broker.disconnect();
      }
    },
  );
}
