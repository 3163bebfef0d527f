import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { SETTINGS, type Registry } from '../../src/index.js';
import { consulRegistry } from '../../src/registry/consul/consul.js';
import { runNode } from '../helpers/cli.js';
import { fixturePath, startFixture } from '../helpers/processes.js';
import { skipReason, startConsul, type RealServer } from '../helpers/servers.js';

// Real processes configured only by their command line and environment (no registry or name in
// code: test/fixtures/configured-service.ts), registering in a Consul this test starts.
const skip = await skipReason('consul');

describe(
  'a service configured by flags and environment (real Consul, real processes)',
  { skip },
  () => {
    let consul: RealServer;
    let registry: Registry;
    const quiet = { TSMICRO_LOG_LEVEL: 'warn' };

    before(async () => {
      consul = await startConsul();
      registry = consulRegistry({ address: consul.address });
    });
    after(async () => {
      await registry?.close();
      await consul?.[Symbol.asyncDispose]();
    });

    test('MICRO_REGISTRY=consul MICRO_REGISTRY_ADDRESS=…, nothing in code → the service is in Consul', async () => {
      await using svc = startFixture('configured-service', [], {
        ...quiet,
        MICRO_REGISTRY: 'consul',
        MICRO_REGISTRY_ADDRESS: consul.address,
        MICRO_SERVER_NAME: 'config.env',
        MICRO_SERVER_VERSION: '1.2.3',
      });
      const [line] = await svc.waitForLine(/^\{"event":"ready".*$/);
      const node = (JSON.parse(line) as { node: { id: string; metadata: Record<string, string> } })
        .node;
      assert.equal(node.metadata.registry, 'consul');
      const [found] = await registry.getService('config.env');
      assert.equal(found.version, '1.2.3');
      assert.deepEqual(
        found.nodes.map((n) => n.id),
        [node.id],
      );
      assert.equal(await svc.kill('SIGTERM'), 0);
      assert.deepEqual(await registry.getService('config.env'), [], 'deregistered on stop');
    });

    test('the same through flags, with metadata and a TTL check', async () => {
      await using svc = startFixture(
        'configured-service',
        [
          '--registry',
          'consul',
          `--registry_address=${consul.address}`,
          '--server_name',
          'config.flags',
          '--server_metadata',
          'team=ops,tier=gold',
          '--register_ttl',
          '20',
          '--register_interval',
          '5',
        ],
        quiet,
      );
      await svc.waitForLine(/"event":"ready"/);
      const [found] = await registry.getService('config.flags');
      assert.equal(found.nodes.length, 1);
      assert.equal(found.nodes[0].metadata.team, 'ops');
      assert.equal(found.nodes[0].metadata.tier, 'gold');
      // A TTL check, heartbeated at the flag's interval (Consul does not show the TTL itself).
      const checks = (await (
        await fetch(`http://${consul.address}/v1/agent/checks`)
      ).json()) as Record<string, { ServiceName: string; Type: string; Status: string }>;
      const check = Object.values(checks).find((c) => c.ServiceName === 'config.flags');
      assert.equal(check?.Type, 'ttl');
      assert.equal(check?.Status, 'passing');
      assert.equal(await svc.kill('SIGTERM'), 0);
    });

    test('a typo in the registry name → exit 1 with the flag, the variable and the allowed values; nothing registered', async () => {
      for (const [args, env, named] of [
        [
          [],
          { MICRO_REGISTRY: 'consol', MICRO_REGISTRY_ADDRESS: consul.address },
          'MICRO_REGISTRY',
        ],
        [['--registry', 'consol', '--registry_address', consul.address], {}, '--registry'],
      ] as const) {
        const out = await runNode(fixturePath('configured-service'), [...args], {
          env: { ...quiet, MICRO_SERVER_NAME: 'config.typo', ...env },
        });
        assert.equal(out.code, 1, out.stderr);
        assert.match(
          out.stderr,
          new RegExp(
            `invalid option ${named}: expected one of local, memory, consul, etcd, mdns, got "consol"`,
          ),
        );
      }
      const names = (await registry.listServices()).map((s) => s.name);
      assert.ok(!names.includes('config.typo'), `registered: ${names.join(', ')}`);
    });

    test('--help under run() prints every flag with its variable and default, starts nothing, exits 0', async () => {
      const out = await runNode(fixturePath('configured-service'), ['--help'], {
        env: {
          ...quiet,
          MICRO_SERVER_NAME: 'config.help',
          MICRO_REGISTRY: 'consul',
          MICRO_REGISTRY_ADDRESS: consul.address,
        },
      });
      assert.equal(out.code, 0, out.stderr);
      for (const s of SETTINGS) {
        assert.ok(out.stdout.includes(`--${s.flag} `), `--${s.flag}`);
        assert.ok(out.stdout.includes(s.env), s.env);
      }
      assert.doesNotMatch(out.stdout, /"event":"ready"/);
      const names = (await registry.listServices()).map((s) => s.name);
      assert.ok(!names.includes('config.help'), `registered: ${names.join(', ')}`);
    });
  },
);
