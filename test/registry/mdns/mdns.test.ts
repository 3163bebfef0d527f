import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { InvalidOptionError, MicroError } from '../../../src/errors.js';
import { mdnsRegistry } from '../../../src/registry/mdns/mdns.js';
import type { Service } from '../../../src/registry/registry.js';
import { netnsSkipReason, oneHost, type Netns } from '../../helpers/netns.js';
import { agent, events, serve } from '../../helpers/mdns-agent.js';
import { startFixture } from '../../helpers/processes.js';

// tsmicro processes on the mDNS registry find each other on one host: a network namespace the
// test makes, whose loopback carries the multicast, so nothing leaves it. Each process is the
// mdns-agent fixture; what one registers another resolves, lists and watches.
const skip = netnsSkipReason();

describe('mDNS registry: processes of one host', { skip }, () => {
  let net: Netns;
  let ns: string;
  before(() => {
    net = oneHost();
    ns = net.hosts[0];
  });
  after(() => net?.remove());

  test('a node registered by one process is resolved and listed by another, every field', async () => {
    const s = await serve(ns, ['ts.found']);
    try {
      const { services } = (await agent(ns, ['resolve', 'ts.found', '1'])) as {
        services: Service[];
      };
      assert.equal(services.length, 1);
      const [svc] = services;
      assert.equal(svc.name, 'ts.found');
      assert.equal(svc.version, '1.0.0');
      assert.deepEqual(
        svc.endpoints.map((e) => e.name),
        ['Greeter.Fail', 'Greeter.Hello'],
      );
      assert.equal(svc.nodes.length, 1);
      assert.equal(svc.nodes[0].id, s.id);
      assert.equal(svc.nodes[0].address, s.address);
      assert.equal(svc.nodes[0].metadata.registry, 'mdns');
      assert.equal(svc.nodes[0].metadata.kind, 'tsmicro');
      const listed = (await agent(ns, ['list', 'ts.found'])) as { services: Service[] };
      assert.ok(
        listed.services.some((x) => x.name === 'ts.found'),
        JSON.stringify(listed),
      );
      const call = await agent(ns, ['call', 'ts.found', 'Greeter.Hello', '{"name":"mdns"}']);
      assert.deepEqual(call.ok, true, JSON.stringify(call));
      assert.equal((call.response as { msg: string }).msg, 'Hello mdns');
    } finally {
      await s.f.kill('SIGKILL');
    }
  });

  test('a watcher sees the node come, and go with the goodbye a graceful stop sends', async () => {
    const w = startFixture('mdns-agent', ['watch', 'ts.watched'], {}, { netns: ns });
    try {
      await w.waitForLine(/"event":"watching"/, 30_000);
      const s = await serve(ns, ['ts.watched']);
      await w.waitForLine(/"action":"create"/, 30_000);
      const [created] = events(w);
      assert.equal(created.service.nodes[0].id, s.id);
      assert.equal(created.service.nodes[0].address, s.address);
      assert.equal(await s.f.kill('SIGTERM'), 0);
      await w.waitForLine(/"action":"delete"/, 30_000);
      const deleted = events(w).find((e) => e.action === 'delete')!;
      assert.equal(deleted.service.nodes[0].id, s.id);
      const { services } = (await agent(ns, ['resolve', 'ts.watched', '0', '3000'])) as {
        services: Service[];
      };
      assert.deepEqual(services, []);
    } finally {
      await w.kill('SIGKILL');
    }
  });

  test('a SIGKILLed node is not found by the next lookup, and a watcher drops it when its TTL runs out', async () => {
    const w = startFixture('mdns-agent', ['watch', 'ts.killed'], {}, { netns: ns });
    try {
      await w.waitForLine(/"event":"watching"/, 30_000);
      const s = await serve(ns, ['ts.killed', '127.0.0.1:0', '3000']);
      await w.waitForLine(/"action":"create"/, 30_000);
      await s.f.kill('SIGKILL'); // no goodbye
      const { services } = (await agent(ns, ['resolve', 'ts.killed', '0', '10000'])) as {
        services: Service[];
      };
      assert.deepEqual(services, [], 'nothing answers for a dead node');
      await w.waitForLine(/"action":"delete"/, 60_000);
      const deleted = events(w).find((e) => e.action === 'delete')!;
      assert.equal(deleted.service.nodes[0].id, s.id);
    } finally {
      await w.kill('SIGKILL');
    }
  });

  test('junk on the group and hostile TXT records are skipped with one log line per kind; serving goes on', async () => {
    const s = await serve(ns, ['ts.hostile']);
    const w = startFixture('mdns-agent', ['watch', 'ts.hostile'], {}, { netns: ns });
    try {
      await w.waitForLine(/"event":"watching"/, 30_000);
      await w.waitForLine(/"action":"create"/, 30_000);
      const blast = startFixture('mdns-agent', ['blast', 'ts.hostile', '20'], {}, { netns: ns });
      await blast.waitForLine(/"event":"sent"/, 60_000);
      await blast.kill('SIGKILL');
      // The legitimate node still answers lookups and calls; no hostile node got through.
      const { services } = (await agent(ns, ['resolve', 'ts.hostile', '1'])) as {
        services: Service[];
      };
      assert.deepEqual(
        services.flatMap((x) => x.nodes.map((n) => n.id)),
        [s.id],
      );
      const call = await agent(ns, ['call', 'ts.hostile', 'Greeter.Hello', '{"name":"after"}']);
      assert.equal(call.ok, true, JSON.stringify(call));
      assert.deepEqual(
        events(w).map((e) => [e.action, e.service.nodes.map((n) => n.id)]),
        [['create', [s.id]]],
      );
      for (const f of [s.f, w]) {
        const skipped = f
          .stderr()
          .split('\n')
          .filter((l) => l.includes('mdns registry: skipped'))
          .map((l) => (JSON.parse(l) as { kind: string }).kind);
        // 20 rounds of 4 junk packets and 9 hostile records: one line for each kind.
        assert.deepEqual(skipped.sort(), ['malformed packet', 'record'], f.stderr());
      }
      assert.equal(s.f.child.exitCode, null, 'the server is still running');
    } finally {
      await w.kill('SIGKILL');
      await s.f.kill('SIGKILL');
    }
  });
});

describe('mDNS registry: options and registrations it refuses', () => {
  test('a bad option fails at construction, naming itself', () => {
    assert.throws(
      () => mdnsRegistry({ interface: 'eth0' }),
      (e: unknown) => e instanceof InvalidOptionError && /interface/.test(e.message),
    );
    assert.throws(() => mdnsRegistry({ domain: 'a b' }), /domain/);
    assert.throws(() => mdnsRegistry({ ttlMs: 0 }), /ttlMs/);
    assert.throws(() => mdnsRegistry({ port: 70_000 }), /port/);
  });

  test('a node whose address is not ip:port is a 400: mDNS carries an IP', async () => {
    const reg = mdnsRegistry();
    try {
      await assert.rejects(
        reg.register({
          name: 'ts.bad',
          version: '1',
          endpoints: [],
          nodes: [{ id: 'n1', address: 'localhost:80', metadata: {} }],
        }),
        (e: unknown) => MicroError.is(e, 400) && /ip:port/.test(e.detail),
      );
    } finally {
      await reg.close();
    }
  });
});
