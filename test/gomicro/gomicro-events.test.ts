import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createService, type Service } from '../../src/index.js';
import { natsBroker, type NatsBroker } from '../../src/broker/nats/nats.js';
import { consulRegistry } from '../../src/registry/consul/consul.js';
import {
  gomicroSkipReason,
  probeUntilSeen,
  runPeer,
  startPeer,
  type Peer,
} from '../helpers/gomicro.js';
import { natsSkipReason, startNatsServer, waitUntil, type NatsServer } from '../helpers/nats.js';
import { skipReason, startConsul, type RealServer } from '../helpers/servers.js';

// Events between services, as each framework does it: tsmicro's client.publish → a go-micro
// gRPC server's subscriber (server.NewSubscriber), and go-micro's client.Publish → a tsmicro
// service subscriber, over a real nats-server with go-micro's NATS broker on the Go side.
const skip = natsSkipReason() || (await skipReason('consul')) || (await gomicroSkipReason());

const COUNT = 50;

describe('go-micro ⇄ tsmicro service events over NATS', { skip }, () => {
  let consul: RealServer;
  let nats: NatsServer;
  let broker: NatsBroker;
  let goServer: Peer;
  let svc: Service;
  const received: { body: unknown; metadata: Record<string, string> }[] = [];

  before(async () => {
    consul = await startConsul();
    nats = await startNatsServer();
    goServer = await startPeer('server', [
      '--consul',
      consul.address,
      '--name',
      'go.events',
      '--nats',
      nats.url,
      '--subscribe',
      'interop.to.go',
    ]);
    await goServer.waitFor((l) => l.event === 'ready');
    broker = natsBroker({ servers: nats.url });
    svc = createService({
      name: 'ts.events',
      broker,
      registry: consulRegistry({ address: consul.address }),
      address: '127.0.0.1:0',
      handleSignals: false,
    });
    svc.subscribe<unknown>('interop.to.ts', (body, ctx) => {
      received.push({ body, metadata: { ...ctx.metadata } });
    });
    await svc.start();
    await probeUntilSeen(goServer, () =>
      svc.client.publish('interop.to.go', {}, { metadata: { probe: '1' } }),
    );
  });
  after(async () => {
    await svc?.stop();
    await broker?.disconnect();
    await goServer?.stop();
    await nats?.[Symbol.asyncDispose]();
    await consul?.[Symbol.asyncDispose]();
  });

  test(`tsmicro client.publish → go-micro server subscriber: ${COUNT} events decoded, metadata as headers`, async () => {
    for (let i = 0; i < COUNT; i++) {
      await svc.client.publish(
        'interop.to.go',
        { order: i, items: ['a', 'b'], ok: true },
        { metadata: { tenant: 'acme' } },
      );
    }
    const events = (): Record<string, unknown>[] =>
      goServer.lines.filter((l) => l.event === 'subscriber');
    await waitUntil(
      () => events().length >= COUNT,
      60_000,
      () => `${COUNT} events at the Go subscriber, have ${events().length}`,
    );
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(events().length, COUNT, 'each event exactly once');
    const got = events()
      .map((e) => e as { topic: string; body: { order: number }; metadata: Record<string, string> })
      .sort((a, b) => a.body.order - b.body.order);
    got.forEach((e, i) => {
      assert.equal(e.topic, 'interop.to.go');
      // Struct numbers are doubles; the Go side prints them as JSON numbers.
      assert.deepEqual(e.body, { order: i, items: ['a', 'b'], ok: true });
      // go-micro's gRPC server drops Content-Type and passes the other headers as metadata.
      assert.equal(e.metadata['tenant'], 'acme');
      assert.equal(e.metadata['Micro-Topic'], 'interop.to.go');
      assert.equal(e.metadata['Content-Type'], undefined);
    });
  });

  test('go-micro client.Publish → tsmicro service subscriber: decoded by Content-Type, metadata as headers', async () => {
    for (let i = 0; i < 3; i++) {
      const [line] = await runPeer('event', [
        '--nats',
        nats.url,
        '--topic',
        'interop.to.ts',
        '--body',
        JSON.stringify({ order: 100 + i, note: 'from go' }),
        '--metadata',
        'Tenant=globex',
      ]);
      assert.deepEqual(line, { event: 'published', count: 1 });
    }
    await waitUntil(
      () => received.length >= 3,
      30_000,
      () => `3 events at the tsmicro subscriber, have ${received.length}`,
    );
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(received.length, 3);
    const sorted = [...received].sort(
      (a, b) => (a.body as { order: number }).order - (b.body as { order: number }).order,
    );
    sorted.forEach((e, i) => {
      assert.deepEqual(e.body, { order: 100 + i, note: 'from go' });
      assert.equal(e.metadata['tenant'], 'globex');
      assert.equal(e.metadata['micro-topic'], 'interop.to.ts');
    });
  });
});
