import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { serve } from '../helpers/mdns-agent.js';
import { microSkipReason, runMicro } from '../helpers/micro-cli.js';
import { netnsSkipReason, oneHost, type Netns } from '../helpers/netns.js';
import type { Fixture } from '../helpers/processes.js';

// go-micro's own CLI (`micro`, go-micro.dev/v5/cmd/micro, built by .ci/micro.sh) on its default
// registry, mDNS, lists and describes a tsmicro service registered on tsmicro's mdns registry.
// Inside a network namespace the test makes.
const skip = netnsSkipReason() || (await microSkipReason());

describe("go-micro's micro CLI sees tsmicro services over mDNS", { skip }, () => {
  let net: Netns;
  let ns: string;
  let s: { f: Fixture; id: string; address: string };
  before(async () => {
    net = oneHost();
    ns = net.hosts[0];
    s = await serve(ns, ['ts.cli']);
  });
  after(async () => {
    await s?.f.kill('SIGKILL');
    net?.remove();
  });

  test('`micro services` lists it', async () => {
    // micro asks once, for 100 ms: a busy host may answer late, so ask again, bounded.
    let out = '';
    for (let i = 0; i < 20 && !out.split('\n').includes('ts.cli'); i++)
      out = await runMicro(ns, ['services']);
    assert.ok(out.split('\n').includes('ts.cli'), out);
  });

  test('`micro describe` shows its version, endpoints and node', async () => {
    let described: {
      version?: string;
      endpoints?: { name: string }[];
      nodes?: { id: string; address: string }[];
    } = {};
    for (let i = 0; i < 20 && !described.nodes; i++) {
      const out = await runMicro(ns, ['describe', 'ts.cli']);
      if (out.trim()) described = JSON.parse(out) as typeof described;
    }
    assert.equal(described.version, '1.0.0');
    assert.deepEqual(
      described.endpoints?.map((e) => e.name),
      ['Greeter.Fail', 'Greeter.Hello'],
    );
    assert.deepEqual(
      described.nodes?.map((n) => [n.id, n.address]),
      [[s.id, s.address]],
    );
  });
});
