import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MicroError } from '../../../src/index.js';
import type { BrokerMessage } from '../../../src/broker/broker.js';
import { natsBroker } from '../../../src/broker/nats/nats.js';
import { natsSkipReason, startNatsServer, waitUntil } from '../../helpers/nats.js';
import { startFixture } from '../../helpers/processes.js';
import { makeTempDir } from '../../helpers/tmp.js';

const event = (id: number, pad = 0): BrokerMessage => ({
  header: { 'Content-Type': 'application/json', 'Micro-Topic': 'events.all' },
  body: new TextEncoder().encode(JSON.stringify({ id, pad: 'x'.repeat(pad) })),
});
const quiet = {
  debug() {},
  info() {},
  warn() {},
  error() {},
  child() {
    return quiet;
  },
};

test(
  'NATS restarted mid-run: a subscriber service resumes on its own; outage publishes are held within the bound or fail fast with 503',
  { skip: natsSkipReason(), timeout: 120_000 },
  async () => {
    await using nats = await startNatsServer();
    await using dir = await makeTempDir('broker-restart-');
    await using sub = startFixture('broker-subscriber', [], {
      NATS_URL: nats.url,
      TSMICRO_REGISTRY_DIR: dir.path,
    });
    await sub.waitForLine(/^ready/, 30_000);
    const fast = { servers: nats.url, reconnectBaseMs: 50, reconnectMaxMs: 500, logger: quiet };
    const holding = natsBroker({ ...fast, outageBufferBytes: 1_000 });
    const failFast = natsBroker({ ...fast, outageBufferBytes: 0 });
    const got: number[] = [];
    try {
      await holding.subscribe('outage.held', async (m) => {
        got.push((JSON.parse(new TextDecoder().decode(m.body)) as { id: number }).id);
      });
      await failFast.connect();
      await holding.publish('events.all', event(1));
      await sub.waitForLine(/^wrap events\.all 1 /);

      await nats.kill();
      await waitUntil(
        () => holding.stats().disconnects === 1 && failFast.stats().disconnects === 1,
        30_000,
        () => 'both brokers to see the outage',
      );

      await assert.rejects(
        failFast.publish('events.all', event(2)),
        (err: unknown) => MicroError.is(err, 503) && err.id === 'tsmicro.broker',
      );
      let heldSettled = false;
      const held = holding.publish('outage.held', event(3, 300)).finally(() => {
        heldSettled = true;
      });
      await assert.rejects(
        holding.publish('outage.held', event(4, 900)),
        (err: unknown) => MicroError.is(err, 503) && err.id === 'tsmicro.broker',
        'past the outage buffer bound publish fails at once',
      );
      await new Promise((r) => setImmediate(r));
      assert.equal(heldSettled, false, 'a held publish does not claim success while NATS is down');

      await nats.start();
      await held;
      await waitUntil(
        () => holding.stats().reconnects === 1 && failFast.stats().reconnects === 1,
        30_000,
        () => 'both brokers to reconnect',
      );
      await waitUntil(
        () => got.includes(3),
        30_000,
        () => 'the held event to arrive after the restart',
      );
      assert.deepEqual(got, [3], 'the held event arrived once; the refused one never');

      // The subscriber process resubscribes by itself; core NATS keeps no backlog, so publish (a
      // bounded number of times) until it shows one.
      const resumed = (): boolean => sub.lines.some((l) => /^wrap events\.all \d{3} /.test(l));
      const deadline = Date.now() + 30_000;
      for (let id = 100; id < 400 && !resumed() && Date.now() < deadline; id++) {
        await failFast.publish('events.all', event(id));
        await new Promise((r) => setTimeout(r, 100));
      }
      assert.ok(resumed(), `the subscriber service resumed without a restart:\n${sub.stderr()}`);
    } finally {
      await holding.disconnect();
      await failFast.disconnect();
    }
  },
);
