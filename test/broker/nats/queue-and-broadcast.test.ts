import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createService, memoryRegistry } from '../../../src/index.js';
import { natsBroker } from '../../../src/broker/nats/nats.js';
import { natsSkipReason, startNatsServer, waitUntil } from '../../helpers/nats.js';
import { startFixture, type Fixture } from '../../helpers/processes.js';
import { makeTempDir } from '../../helpers/tmp.js';

const N = 300;
const WAIT_MS = 60_000;

/** Lines `wrap <topic> <id> <tenant> <ok|err>` a fixture printed for `topic`. */
const seen = (f: Fixture, topic: string): { id: number; tenant: string; ok: boolean }[] =>
  f.lines
    .filter((l) => l.startsWith(`wrap ${topic} `))
    .map((l) => {
      const [, , id, tenant, result] = l.split(' ');
      return { id: Number(id), tenant: tenant, ok: result === 'ok' };
    });

const until = (fixtures: Fixture[], done: () => boolean, what: string): Promise<void> =>
  waitUntil(done, WAIT_MS, () => `${what}; stderr:\n${fixtures.map((f) => f.stderr()).join('\n')}`);

test(
  'across 3 subscriber processes on NATS: broadcast reaches all 3, a queue group gets each message exactly once',
  { skip: natsSkipReason() },
  async () => {
    await using nats = await startNatsServer();
    await using dir = await makeTempDir('broker-semantics-');
    const env = { NATS_URL: nats.url, TSMICRO_REGISTRY_DIR: dir.path };
    await using a = startFixture('broker-subscriber', [], env);
    await using b = startFixture('broker-subscriber', [], env);
    await using c = startFixture('broker-subscriber', [], env);
    const subs = [a, b, c];
    await Promise.all(subs.map((f) => f.waitForLine(/^ready/, 30_000)));

    const broker = natsBroker({ servers: nats.url });
    await using publisher = createService({
      name: 'broker-publisher',
      broker,
      registry: memoryRegistry(),
    });
    try {
      for (let id = 1; id <= N; id++) {
        await publisher.client.publish('events.work', { id }, { metadata: { tenant: 't1' } });
        await publisher.client.publish('events.all', { id }, { metadata: { tenant: 't1' } });
      }
      await until(
        subs,
        () =>
          subs.every((f) => seen(f, 'events.all').length >= N) &&
          subs.reduce((n, f) => n + seen(f, 'events.work').length, 0) >= N,
        'all deliveries',
      );
      // Anything extra (a duplicate) would have been sent before this marker on the same
      // connection.
      await publisher.client.publish('events.end', { id: 0 });
      await until(
        subs,
        () => subs.every((f) => seen(f, 'events.end').length === 1),
        'the end marker',
      );
    } finally {
      await broker.disconnect();
    }

    for (const f of subs) {
      const all = seen(f, 'events.all');
      assert.equal(all.length, N, 'broadcast: every process sees every message once');
      assert.deepEqual(new Set(all.map((e) => e.id)).size, N);
      assert.equal(
        all.filter((e) => !e.ok).length,
        N / 10,
        'the handler failed for every tenth id; the wrapper saw each failure',
      );
      assert.ok(
        all.every((e) => e.ok === (e.id % 10 !== 0)),
        'failures did not stop later messages',
      );
      assert.ok(
        all.every((e) => e.tenant === 't1'),
        'metadata travels as headers',
      );
    }
    const work = subs.flatMap((f) => seen(f, 'events.work').map((e) => e.id));
    assert.equal(work.length, N, 'queue group: N deliveries in total');
    assert.equal(new Set(work).size, N, 'each message once');
    const shares = subs.map((f) => seen(f, 'events.work').length);
    assert.ok(
      shares.every((n) => n > 0),
      `every member got a share: ${shares.join('/')}`,
    );
  },
);
