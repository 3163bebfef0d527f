import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Service } from '../../../src/registry/registry.js';
import { gomicroSkipReason, runPeer } from '../../helpers/gomicro.js';
import { events } from '../../helpers/mdns-agent.js';
import { lan, netnsSkipReason, type Netns } from '../../helpers/netns.js';
import { startFixture, type Fixture } from '../../helpers/processes.js';

// Two hosts on one LAN, made by the test: a network namespace each, joined by veth pairs to a
// bridge in a third namespace (multicast snooping off, so the mDNS group floods). A tsmicro
// service on host 0, bound to its LAN address, is found and called from host 1 over mDNS with
// no registry server, each side bound to its own interface; SIGKILLed, it is gone from the next
// lookup, and from a watcher once its TTL runs out.
const skip = netnsSkipReason();
const noPeer = await gomicroSkipReason();

/** TTL of the served node: short, so the watcher's expiry comes soon. */
const TTL_MS = 4_000;

function run(ns: string, ip: string, args: string[]): Fixture {
  return startFixture('mdns-agent', args, { MDNS_INTERFACE: ip }, { netns: ns });
}

async function answer(ns: string, ip: string, args: string[]): Promise<Record<string, unknown>> {
  const f = run(ns, ip, args);
  try {
    return JSON.parse((await f.waitForLine(/^\{"(services|ok)"/, 60_000)).input!) as Record<
      string,
      unknown
    >;
  } finally {
    await f.kill('SIGKILL');
  }
}

describe('mDNS registry across hosts (network namespaces on a bridge)', { skip }, () => {
  let net: Netns;
  let server: Fixture;
  let ready: { id: string; address: string };
  let watcher: Fixture;
  before(async () => {
    net = lan(2);
    watcher = run(net.hosts[1], net.ips[1], ['watch', 'ts.lan']);
    await watcher.waitForLine(/"event":"watching"/, 30_000);
    server = run(net.hosts[0], net.ips[0], ['serve', 'ts.lan', `${net.ips[0]}:0`, String(TTL_MS)]);
    ready = JSON.parse(
      (await server.waitForLine(/"event":"ready"/, 60_000)).input!,
    ) as typeof ready;
  });
  after(async () => {
    await server?.kill('SIGKILL');
    await watcher?.kill('SIGKILL');
    net?.remove();
  });

  test('the service on host 0 is resolved from host 1 at its LAN address, and called there', async () => {
    assert.match(ready.address, new RegExp(`^${net.ips[0].replaceAll('.', '\\.')}:\\d+$`));
    const { services } = (await answer(net.hosts[1], net.ips[1], ['resolve', 'ts.lan', '1'])) as {
      services: Service[];
    };
    assert.deepEqual(
      services.flatMap((s) => s.nodes.map((n) => [n.id, n.address])),
      [[ready.id, ready.address]],
    );
    const call = await answer(net.hosts[1], net.ips[1], [
      'call',
      'ts.lan',
      'Greeter.Hello',
      '{"name":"lan"}',
    ]);
    assert.equal(call.ok, true, JSON.stringify(call));
    assert.equal((call.response as { msg: string; pid: number }).msg, 'Hello lan');
    assert.equal((call.response as { pid: number }).pid, server.pid);
    await watcher.waitForLine(/"action":"create"/, 30_000);
  });

  test("go-micro's default registry on host 1 sees it too", { skip: noPeer }, async () => {
    const [got] = await runPeer(
      'registry',
      ['get', '--service', 'ts.lan', '--nodes', '1'],
      60_000,
      {
        netns: net.hosts[1],
      },
    );
    const services = got.services as { nodes: { id: string; address: string }[] }[];
    assert.deepEqual(
      services.flatMap((s) => s.nodes.map((n) => [n.id, n.address])),
      [[ready.id, ready.address]],
    );
  });

  test('SIGKILLed, it is gone from the very next lookup, and from the watcher when its TTL runs out', async (t) => {
    await server.kill('SIGKILL'); // no goodbye
    const killedAt = Date.now();
    const lookup = (await answer(net.hosts[1], net.ips[1], [
      'resolve',
      'ts.lan',
      '0',
      '10000',
    ])) as {
      services: Service[];
      attempts: number;
    };
    assert.deepEqual(lookup.services, []);
    assert.equal(lookup.attempts, 1, 'the first lookup after the kill already finds nothing');
    await watcher.waitForLine(/"action":"delete"/, 60_000);
    t.diagnostic(`watcher's delete ${Date.now() - killedAt} ms after the kill (TTL ${TTL_MS} ms)`);
    const deleted = events(watcher).find((e) => e.action === 'delete')!;
    assert.deepEqual(
      deleted.service.nodes.map((n) => n.id),
      [ready.id],
    );
  });
});
