import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Service, WatchEvent } from '../../src/registry/registry.js';
import { gomicroSkipReason, runPeer, startPeer, type Peer } from '../helpers/gomicro.js';
import { netnsSkipReason, oneHost, type Netns } from '../helpers/netns.js';
import { startFixture } from '../helpers/processes.js';
import { agent, events, serve } from '../helpers/mdns-agent.js';

// go-micro's default registry, mDNS (registry.DefaultRegistry in go-micro v5.30), and tsmicro's
// mdns registry see each other: a real go-micro gRPC server registered with no registry flag is
// resolved and called by tsmicro, and a tsmicro service is resolved and called by go-micro's
// registry and gRPC client. All inside one network namespace the test makes (multicast on its
// loopback), so no packet leaves it.
const skip = netnsSkipReason() || (await gomicroSkipReason());

describe(
  "go-micro's default mDNS registry ↔ tsmicro's mdns registry (real processes)",
  { skip },
  () => {
    let net: Netns;
    let ns: string;
    let peer: Peer;
    let ready: { id: string; address: string };
    before(async () => {
      net = oneHost();
      ns = net.hosts[0];
      peer = await startPeer(
        'server',
        [
          '-registry',
          'mdns',
          '--name',
          'go.mdns',
          '--version',
          '2.0.0',
          '--meta',
          'team=go,tier=gold',
        ],
        { netns: ns },
      );
      ready = (await peer.waitFor((l) => l.event === 'ready', 60_000)) as typeof ready;
    });
    after(async () => {
      await peer?.stop();
      net?.remove();
    });

    test('tsmicro resolves the go-micro node: id, address, version, metadata, endpoints', async () => {
      const { services } = (await agent(ns, ['resolve', 'go.mdns', '1'])) as {
        services: Service[];
      };
      assert.equal(services.length, 1, JSON.stringify(services));
      const [svc] = services;
      assert.equal(svc.name, 'go.mdns');
      assert.equal(svc.version, '2.0.0');
      assert.deepEqual(
        svc.nodes.map((n) => [n.id, n.address]),
        [[ready.id, ready.address]],
      );
      const md = svc.nodes[0].metadata;
      assert.equal(md.team, 'go');
      assert.equal(md.tier, 'gold');
      assert.equal(md.registry, 'mdns');
      assert.equal(md.server, 'grpc');
      assert.deepEqual(svc.endpoints.map((e) => e.name).sort(), [
        'Greeter.Fail',
        'Greeter.Hello',
        'Greeter.Upper',
      ]);
      const upper = svc.endpoints.find((e) => e.name === 'Greeter.Upper')!;
      assert.deepEqual(upper.request, {
        name: 'StringValue',
        type: 'StringValue',
        values: [{ name: 'value', type: 'string' }],
      });
      const listed = (await agent(ns, ['list', 'go.mdns'])) as { services: Service[] };
      assert.ok(
        listed.services.some((s) => s.name === 'go.mdns'),
        JSON.stringify(listed),
      );
    });

    test('tsmicro calls the go-micro node it found over mDNS, on gRPC', async () => {
      const res = await agent(ns, ['upper', 'go.mdns', 'hello']);
      assert.deepEqual(res, { ok: true, response: 'HELLO from go.mdns' });
    });

    test("go-micro's registry resolves and lists the tsmicro node, and its client calls it", async () => {
      const s = await serve(ns, ['ts.mdns']);
      try {
        const [got] = await runPeer(
          'registry',
          ['get', '--service', 'ts.mdns', '--nodes', '1'],
          60_000,
          { netns: ns },
        );
        const services = got.services as {
          name: string;
          version: string;
          endpoints: { name: string }[];
          nodes: { id: string; address: string; metadata: Record<string, string> }[];
        }[];
        assert.equal(services.length, 1, JSON.stringify(got));
        assert.equal(services[0].name, 'ts.mdns');
        assert.equal(services[0].version, '1.0.0');
        assert.deepEqual(
          services[0].endpoints.map((e) => e.name),
          ['Greeter.Fail', 'Greeter.Hello'],
        );
        assert.deepEqual(
          services[0].nodes.map((n) => [n.id, n.address]),
          [[s.id, s.address]],
        );
        assert.equal(services[0].nodes[0].metadata.kind, 'tsmicro');
        assert.equal(services[0].nodes[0].metadata.registry, 'mdns');
        const [listed] = await runPeer('registry', ['list', '--want', 'ts.mdns'], 60_000, {
          netns: ns,
        });
        assert.ok(
          (listed.services as { name: string }[]).some((x) => x.name === 'ts.mdns'),
          JSON.stringify(listed),
        );
        const call = (extra: string[]) =>
          runPeer('call', ['-registry', 'mdns', '--service', 'ts.mdns', ...extra], 60_000, {
            netns: ns,
          });
        const [hello] = await call([
          '--endpoint',
          'Greeter.Hello',
          '--body',
          '{"name":"gopher"}',
          '--metadata',
          'trace=abc',
        ]);
        assert.equal(hello.ok, true, JSON.stringify(hello));
        const response = hello.response as { msg: string; metadata: Record<string, string> };
        assert.equal(response.msg, 'Hello gopher');
        assert.equal(response.metadata.trace, 'abc');
        const [fail] = await call(['--endpoint', 'Greeter.Fail', '--body', '{"why":"quota"}']);
        assert.deepEqual(fail, {
          ok: false,
          error: { id: 'ts.mdns.fail', code: 409, detail: 'refused: quota', status: 'Conflict' },
        });
      } finally {
        await s.f.kill('SIGKILL');
      }
    });

    test('MICRO_REGISTRY=mdns alone (nothing in code) puts a tsmicro service where go-micro looks', async () => {
      await using svc = startFixture(
        'configured-service',
        [],
        { TSMICRO_LOG_LEVEL: 'warn', MICRO_REGISTRY: 'mdns', MICRO_SERVER_NAME: 'config.mdns' },
        { netns: ns },
      );
      const m = await svc.waitForLine(/^\{"event":"ready"/, 60_000);
      const node = (
        JSON.parse(m.input!) as { node: { id: string; metadata: Record<string, string> } }
      ).node;
      assert.equal(node.metadata.registry, 'mdns');
      const [got] = await runPeer(
        'registry',
        ['get', '--service', 'config.mdns', '--nodes', '1'],
        60_000,
        {
          netns: ns,
        },
      );
      const services = got.services as { nodes: { id: string }[] }[];
      assert.deepEqual(
        services.flatMap((x) => x.nodes.map((n) => n.id)),
        [node.id],
      );
    });

    test("a tsmicro watcher sees go-micro's node, and its goodbye when it stops", async () => {
      const w = startFixture('mdns-agent', ['watch', 'go.bye'], {}, { netns: ns });
      const bye = await startPeer('server', ['-registry', 'mdns', '--name', 'go.bye'], {
        netns: ns,
      });
      try {
        const r = (await bye.waitFor((l) => l.event === 'ready', 60_000)) as { id: string };
        await w.waitForLine(/"action":"create"/, 30_000);
        assert.equal(await bye.stop('SIGTERM'), 0);
        await w.waitForLine(/"action":"delete"/, 30_000);
        const seen = events(w).map((e: WatchEvent) => [e.action, e.service.nodes.map((n) => n.id)]);
        assert.deepEqual(seen.at(-1), ['delete', [r.id]]);
        assert.ok(
          seen.some(([a, ids]) => a === 'create' && (ids as string[])[0] === r.id),
          JSON.stringify(seen),
        );
      } finally {
        await bye.stop('SIGKILL');
        await w.kill('SIGKILL');
      }
    });
  },
);
