import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { BrokerMessage } from '../../src/plugin.js';
import { natsBroker, type NatsBroker } from '../../src/broker/nats/nats.js';
import { gomicroSkipReason, probeUntilSeen, runPeer, startPeer } from '../helpers/gomicro.js';
import { natsSkipReason, startNatsServer, waitUntil, type NatsServer } from '../helpers/nats.js';

// go-micro's NATS broker (test/gomicro/peer) and tsmicro's exchange messages on one topic through
// a real nats-server of the test's own. Envelope `{"Header":{...},"Body":"<base64>"}` both ways;
// headers and bodies compared exactly, and counted exactly over a bounded run.
const skip = natsSkipReason() || (await gomicroSkipReason());

const COUNT = 200;

/**
 * What the Go publisher sends as message i (peer broker.go): body `<prefix><i>\x00\xff`, not UTF-8.
 */
function goBody(prefix: string, i: number): Buffer {
  return Buffer.concat([Buffer.from(`${prefix}${i}`), Buffer.from([0x00, 0xff])]);
}

describe('go-micro NATS broker ⇄ tsmicro NATS broker (real nats-server)', { skip }, () => {
  let nats: NatsServer;
  let broker: NatsBroker;
  before(async () => {
    nats = await startNatsServer();
    broker = natsBroker({ servers: nats.url });
    await broker.connect();
  });
  after(async () => {
    await broker?.disconnect();
    await nats?.[Symbol.asyncDispose]();
  });

  test(`go-micro publisher → tsmicro subscriber: ${COUNT} messages, headers and bodies exact`, async () => {
    const got: BrokerMessage[] = [];
    const sub = await broker.subscribe('interop.go2ts', async (m) => {
      got.push(m);
    });
    try {
      const [done] = await runPeer('publish', [
        '--nats',
        nats.url,
        '--topic',
        'interop.go2ts',
        '--count',
        String(COUNT),
        '--header',
        'origin=go,Content-Type=application/octet-stream',
        '--body-prefix',
        'go-',
      ]);
      assert.deepEqual(done, { event: 'published', count: COUNT });
      await waitUntil(
        () => got.length >= COUNT,
        30_000,
        () => `${COUNT} messages, have ${got.length}`,
      );
      // Over-delivery would show up here: nothing more may arrive.
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(got.length, COUNT);
      // go-micro's broker spreads publishes over a connection pool, so arrival order is not
      // guaranteed; every seq exactly once is.
      const bySeq = [...got].sort((a, b) => Number(a.header.seq) - Number(b.header.seq));
      bySeq.forEach((m, i) => {
        assert.deepEqual(m.header, {
          seq: String(i),
          origin: 'go',
          'Content-Type': 'application/octet-stream',
        });
        assert.deepEqual(Buffer.from(m.body), goBody('go-', i));
      });
    } finally {
      await sub.unsubscribe();
    }
  });

  test(`tsmicro publisher → go-micro subscriber: ${COUNT} messages, headers and bodies exact`, async () => {
    await using peer = await startPeer('subscribe', [
      '--nats',
      nats.url,
      '--topic',
      'interop.ts2go',
      '--count',
      String(COUNT),
      '--wait',
      '60s',
    ]);
    await peer.waitFor((l) => l.event === 'subscribed');
    await probeUntilSeen(peer, () =>
      broker.publish('interop.ts2go', { header: { probe: '1' }, body: new Uint8Array(0) }),
    );
    const sent: BrokerMessage[] = [];
    for (let i = 0; i < COUNT; i++) {
      const m = {
        header: { seq: String(i), origin: 'ts', 'Micro-Topic': 'interop.ts2go' },
        body: new Uint8Array([...Buffer.from(`ts-${i}`), 0x00, 0xff, i % 256]),
      };
      sent.push(m);
      await broker.publish('interop.ts2go', m);
    }
    const done = await peer.waitFor((l) => l.event === 'done' || l.event === 'timeout', 90_000);
    const received = peer.lines.filter((l) => l.event === 'message') as {
      header: Record<string, string>;
      body: string;
    }[];
    assert.deepEqual(
      done,
      { event: 'done', received: COUNT },
      `seqs received: ${received.map((m) => m.header.seq).join(',')}`,
    );
    assert.equal(received.length, COUNT);
    // One tsmicro connection to one Go subscription: NATS keeps the order.
    received.forEach((m, i) => {
      assert.deepEqual(m.header, sent[i].header);
      assert.equal(m.body, Buffer.from(sent[i].body).toString('base64'));
    });
  });
});
