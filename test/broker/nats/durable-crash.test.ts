import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createService, memoryRegistry } from '../../../src/index.js';
import { natsBroker } from '../../../src/broker/nats/nats.js';
import { natsSkipReason, startNatsServer, waitUntil } from '../../helpers/nats.js';
import { startFixture, type Fixture } from '../../helpers/processes.js';
import { makeTempDir } from '../../helpers/tmp.js';

const TOTAL = 10_000;
const KILL_AFTER = 3_000;
const IN_FLIGHT = 32;

const handled = (f: Fixture): number[] =>
  f.lines.filter((l) => l.startsWith('h ')).map((l) => Number(l.slice(2)));

test(
  'durable mode: 10,000 events, the subscriber SIGKILLed mid-way and restarted — every event handled at least once',
  { skip: natsSkipReason(), timeout: 240_000 },
  async (t) => {
    await using nats = await startNatsServer();
    await using dir = await makeTempDir('broker-durable-');
    const env = { NATS_URL: nats.url, TSMICRO_REGISTRY_DIR: dir.path };
    const first = startFixture('broker-durable-subscriber', [], env);
    await first.waitForLine(/^ready/, 30_000);

    const broker = natsBroker({
      servers: nats.url,
      jetstream: { stream: 'JOBS', subjects: ['jobs.>'] },
    });
    await using publisher = createService({
      name: 'durable-publisher',
      broker,
      registry: memoryRegistry(),
    });
    let second: Fixture | undefined;
    try {
      let next = 1;
      const publishing = Promise.all(
        Array.from({ length: IN_FLIGHT }, async () => {
          while (next <= TOTAL) await publisher.client.publish('jobs.created', { id: next++ });
        }),
      );
      // SIGKILL once a good part is handled (while publishing may still run), then start anew.
      await waitUntil(
        () => handled(first).length >= KILL_AFTER,
        120_000,
        () => `the first subscriber to handle ${KILL_AFTER}:\n${first.stderr()}`,
      );
      await first.kill('SIGKILL');
      const publishedAtKill = next - 1;
      const beforeKill = handled(first);
      second = startFixture('broker-durable-subscriber', [], env);
      await publishing;
      const union = (): Set<number> => new Set([...beforeKill, ...handled(second!)]);
      await waitUntil(
        () => union().size >= TOTAL,
        180_000,
        () => `all ${TOTAL} handled (have ${union().size}):\n${second!.stderr()}`,
      );

      const all = [...beforeKill, ...handled(second)];
      const ids = union();
      for (let id = 1; id <= TOTAL; id++) assert.ok(ids.has(id), `event ${id} was lost`);
      assert.equal(ids.size, TOTAL);
      t.diagnostic(
        `published when killed: ${publishedAtKill}; handled before the kill: ${beforeKill.length}; after the restart: ${handled(second).length}; duplicates: ${all.length - TOTAL}`,
      );
    } finally {
      await second?.kill('SIGTERM');
      await first.kill('SIGKILL');
      await broker.disconnect();
    }
  },
);
