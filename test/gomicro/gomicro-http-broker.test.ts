import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { BrokerMessage } from '../../src/plugin.js';
import { httpBroker, type HttpBroker } from '../../src/broker/http/http.js';
import { consulRegistry } from '../../src/registry/consul/consul.js';
import type { Registry } from '../../src/registry/registry.js';
import { gomicroSkipReason, startPeer } from '../helpers/gomicro.js';
import { skipReason, startConsul, type RealServer } from '../helpers/servers.js';
import { waitFor } from '../helpers/wait.js';

// go-micro's default broker (broker.NewHttpBroker, test/gomicro/peer) and tsmicro's embedded one
// on one Consul started by the test: each finds the other's subscriptions under
// `micro.http.broker` and POSTs the envelope to them. Headers and bodies compared exactly.
const skip = (await skipReason('consul')) || (await gomicroSkipReason());

const COUNT = 50;

describe("go-micro's HTTP broker ⇄ tsmicro's embedded broker (shared Consul)", { skip }, () => {
  let consul: RealServer;
  let registry: Registry;
  let broker: HttpBroker;
  before(async () => {
    consul = await startConsul();
    registry = consulRegistry({ address: consul.address });
    broker = httpBroker({ registry });
  });
  after(async () => {
    await broker?.disconnect();
    await registry?.close();
    await consul?.[Symbol.asyncDispose]();
  });

  test(`go-micro publisher → tsmicro subscriber: ${COUNT} events, headers and bodies exact`, async () => {
    const got: BrokerMessage[] = [];
    const sub = await broker.subscribe('interop.http.go2ts', async (m) => void got.push(m));
    try {
      // go-micro's Publish returns before it sends (from a goroutine): the peer stays up
      // (--linger) until we have seen everything, and is stopped then.
      await using peer = await startPeer('publish', [
        '--consul',
        consul.address,
        '--topic',
        'interop.http.go2ts',
        '--count',
        String(COUNT),
        '--header',
        'origin=go',
        '--linger',
        '60s',
      ]);
      await peer.waitFor((l) => l.event === 'published');
      await waitFor(
        () => got.length >= COUNT,
        30_000,
        () => `${COUNT} events, have ${got.length}; peer stderr:\n${peer.stderr()}`,
      );
      await new Promise((r) => setTimeout(r, 300)); // an over-delivery would show up here
      assert.equal(got.length, COUNT);
      const bySeq = [...got].sort((a, b) => Number(a.header.seq) - Number(b.header.seq));
      bySeq.forEach((m, i) => {
        assert.deepEqual(m.header, {
          seq: String(i),
          origin: 'go',
          'Micro-Topic': 'interop.http.go2ts',
        });
        assert.deepEqual(
          Buffer.from(m.body),
          Buffer.concat([Buffer.from(`go-${i}`), Buffer.from([0x00, 0xff])]),
        );
      });
    } finally {
      await sub.unsubscribe();
    }
  });

  test(`tsmicro publisher → go-micro subscriber: ${COUNT} events, each publish resolved once delivered`, async () => {
    await using peer = await startPeer('subscribe', [
      '--consul',
      consul.address,
      '--topic',
      'interop.http.ts2go',
      '--count',
      String(COUNT),
      '--wait',
      '60s',
    ]);
    // go-micro's Subscribe registers in the registry before it returns.
    await peer.waitFor((l) => l.event === 'subscribed');
    const sent: BrokerMessage[] = [];
    for (let i = 0; i < COUNT; i++) {
      const m = {
        header: { seq: String(i), origin: 'ts' },
        body: new Uint8Array([...Buffer.from(`ts-${i}`), 0x00, 0xff, i % 256]),
      };
      sent.push(m);
      await broker.publish('interop.http.ts2go', m);
    }
    const done = await peer.waitFor((l) => l.event === 'done' || l.event === 'timeout', 60_000);
    assert.deepEqual(done, { event: 'done', received: COUNT });
    const received = peer.lines.filter((l) => l.event === 'message') as {
      header: Record<string, string>;
      body: string;
    }[];
    // Each publish waited for the Go handler's answer: the order is kept.
    received.forEach((m, i) => {
      assert.deepEqual(m.header, { ...sent[i].header, 'Micro-Topic': 'interop.http.ts2go' });
      assert.equal(m.body, Buffer.from(sent[i].body).toString('base64'));
    });
  });
});
