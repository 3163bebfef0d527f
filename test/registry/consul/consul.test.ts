import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { MicroError, type RegistryService as Service } from '../../../src/index.js';
import { consulRegistry } from '../../../src/registry/consul/consul.js';
import { skipReason, startConsul, type RealServer } from '../../helpers/servers.js';
import { assertWatchLifecycle, waitFor } from '../../server/real-registry.js';

const skip = await skipReason('consul');

function greeter(id: string, port: number, version = '1.0.0'): Service {
  return {
    name: 'greeter',
    version,
    endpoints: [
      {
        name: 'Greeter.Hello',
        request: { name: 'Req', type: 'Req', values: [{ name: 'name', type: 'string' }] },
        metadata: {},
      },
    ],
    nodes: [{ id, address: `127.0.0.1:${port}`, metadata: { protocol: 'grpc', weight: '5' } }],
  };
}

async function agentJSON(consul: RealServer, path: string): Promise<unknown> {
  const res = await fetch(`http://${consul.address}/v1/${path}`);
  assert.equal(res.status, 200, `GET ${path}`);
  return res.json();
}

describe('consul registry (real agent)', { skip }, () => {
  let consul: RealServer;
  before(async () => {
    consul = await startConsul();
  });
  after(async () => {
    await consul?.[Symbol.asyncDispose]();
  });

  test('registers a node as go-micro does: ID, Address/Port, tags, Meta and a passing TTL check', async () => {
    const r = consulRegistry({ address: consul.address });
    try {
      await r.register(greeter('greeter-shape', 5101), { ttlMs: 30_000 });
      const svc = (await agentJSON(consul, 'agent/service/greeter-shape')) as {
        ID: string;
        Service: string;
        Address: string;
        Port: number;
        Tags: string[];
        Meta: Record<string, string>;
      };
      assert.equal(svc.ID, 'greeter-shape');
      assert.equal(svc.Service, 'greeter');
      assert.equal(svc.Address, '127.0.0.1');
      assert.equal(svc.Port, 5101);
      assert.deepEqual(svc.Meta, { protocol: 'grpc', weight: '5' });
      assert.deepEqual(
        svc.Tags.map((t) => t.slice(0, 2)),
        ['t-', 't-', 'e-', 'v-'],
      );
      const checks = (await agentJSON(consul, 'agent/checks')) as Record<
        string,
        { Type: string; Status: string; ServiceID: string }
      >;
      const check = checks['service:greeter-shape'];
      assert.equal(check?.Type, 'ttl');
      assert.equal(check?.Status, 'passing', 'passing at once, not critical until the first beat');
      await r.deregister(greeter('greeter-shape', 5101));
      assert.deepEqual(await r.getService('greeter'), []);
    } finally {
      await r.close();
    }
  });

  test('getService decodes version, endpoints and metadata, one service per version', async () => {
    const r = consulRegistry({ address: consul.address });
    try {
      await r.register(greeter('greeter-v1', 5111, '1.0.0'), { ttlMs: 30_000 });
      await r.register(greeter('greeter-v2', 5112, '2.0.0'), { ttlMs: 30_000 });
      const got = (await r.getService('greeter')).sort((a, b) =>
        a.version.localeCompare(b.version),
      );
      assert.deepEqual(
        got.map((s) => [s.version, s.nodes.map((n) => n.id)]),
        [
          ['1.0.0', ['greeter-v1']],
          ['2.0.0', ['greeter-v2']],
        ],
      );
      assert.deepEqual(got[0].endpoints, greeter('x', 1).endpoints);
      assert.deepEqual(got[0].nodes[0], {
        id: 'greeter-v1',
        address: '127.0.0.1:5111',
        metadata: { protocol: 'grpc', weight: '5' },
      });
      assert.deepEqual(await r.getService('nobody'), []);
      const names = (await r.listServices())
        .filter((s) => s.name === 'greeter')
        .map((s) => s.version)
        .sort();
      assert.deepEqual(names, ['1.0.0', '2.0.0']);
    } finally {
      await r.deregister(greeter('greeter-v1', 5111)).catch(() => {});
      await r.deregister(greeter('greeter-v2', 5112)).catch(() => {});
      await r.close();
    }
  });

  test('an entry written by go-micro (its tags, no Meta) decodes to its version, endpoints and metadata', async () => {
    // What go-micro v1–v4 sends: tags only, Go's own zlib bytes (see consul/encoding.test.ts).
    const body = {
      ID: 'gomicro-1',
      Name: 'gomicro',
      Address: '127.0.0.1',
      Port: 5120,
      Tags: [
        't-789caa562a294acc2b2ec82f2a51b252ca28292950aa05040000ffff4f930768',
        't-789caa562a4a4dcf2c2e29aa54b2524acecf2b2ecd51aa05040000ffff560f07c8',
        'e-789c6ccdcb0902411084e15cea3c184027a0678da0c1baf5ccaefd106499dc45466f5ebf82fa0f381fc548c881a19d105c68b65dbfdc90affd8f3ed58a011965361b9cb16f23b8a0a133f5aea99fdb48a77608d28b98edd7393b99f4d36dedf31d0000ffff865e30f6',
        'v-789c32d433d23300040000ffff02d400f0',
      ],
      Check: { TTL: '1m30s', DeregisterCriticalServiceAfter: '1m35s', Status: 'passing' },
    };
    const res = await fetch(`http://${consul.address}/v1/agent/service/register`, {
      method: 'PUT',
      body: JSON.stringify(body),
    });
    assert.equal(res.status, 200);
    const r = consulRegistry({ address: consul.address });
    try {
      assert.deepEqual(await r.getService('gomicro'), [
        {
          name: 'gomicro',
          version: '1.2.0',
          endpoints: [
            {
              name: 'Greeter.Stream',
              request: { name: 'HelloRequest', type: 'HelloRequest' },
              metadata: { stream: 'true' },
            },
          ],
          nodes: [
            {
              id: 'gomicro-1',
              address: '127.0.0.1:5120',
              metadata: { transport: 'http', registry: 'consul' },
            },
          ],
        },
      ]);
    } finally {
      await r.deregister({
        name: 'gomicro',
        version: '',
        endpoints: [],
        nodes: [{ id: 'gomicro-1', address: '', metadata: {} }],
      });
      await r.close();
    }
  });

  test('a node whose TTL lapses is filtered out as critical; re-registering brings it back', async () => {
    const r = consulRegistry({ address: consul.address });
    try {
      await r.register(greeter('greeter-ttl', 5130), { ttlMs: 2_000 });
      assert.deepEqual(
        (await r.getService('greeter')).flatMap((s) => s.nodes.map((n) => n.id)),
        ['greeter-ttl'],
      );
      await waitFor(
        async () => (await r.getService('greeter')).length === 0,
        20_000,
        'node filtered after its TTL',
      );
      // Still in the catalog (reaping takes a minute), but critical: the heartbeat's TTL pass
      // revives it.
      await r.register(greeter('greeter-ttl', 5130), { ttlMs: 2_000 });
      assert.deepEqual(
        (await r.getService('greeter')).flatMap((s) => s.nodes.map((n) => n.id)),
        ['greeter-ttl'],
      );
    } finally {
      await r.deregister(greeter('greeter-ttl', 5130)).catch(() => {});
      await r.close();
    }
  });

  test('watch reports create, update and delete of one service, and stops promptly', async () => {
    await assertWatchLifecycle(
      consulRegistry({ address: consul.address }),
      { ...greeter('watched-1', 5140), name: 'watched' },
      '127.0.0.1:5141',
    );
  });

  test('watch without a service is refused with a 400, as go-micro v5 refuses it', async () => {
    const r = consulRegistry({ address: consul.address });
    try {
      await assert.rejects(
        async () => {
          for await (const _ of r.watch()) break;
        },
        (err) => MicroError.is(err, 400),
      );
    } finally {
      await r.close();
    }
  });
});

describe('consul registry options', () => {
  test('bad options throw at construction, naming the option', () => {
    assert.throws(() => consulRegistry({ address: 'not an address:x' }), /address/);
    assert.throws(() => consulRegistry({ address: [] }), /address/);
    assert.throws(() => consulRegistry({ watchWaitMs: 700_000 }), /watchWaitMs/);
    assert.throws(() => consulRegistry({ requestTimeoutMs: 0 }), /requestTimeoutMs/);
  });

  test('an unreachable agent fails at once with a 503, not a hang', async () => {
    const r = consulRegistry({ address: '127.0.0.1:1' });
    try {
      await assert.rejects(
        r.getService('x'),
        (err) => MicroError.is(err, 503) && /unreachable/.test(err.detail),
      );
      await assert.rejects(r.register(greeter('g-1', 1), { ttlMs: 10_000 }), (err) =>
        MicroError.is(err, 503),
      );
    } finally {
      await r.close();
    }
  });

  test(
    'with several agents, the next one is used when the first cannot be reached',
    { skip },
    async () => {
      await using consul = await startConsul();
      const r = consulRegistry({ address: ['127.0.0.1:1', consul.address] });
      try {
        await r.register(greeter('greeter-failover', 5150), { ttlMs: 30_000 });
        assert.deepEqual(
          (await r.getService('greeter')).flatMap((s) => s.nodes.map((n) => n.id)),
          ['greeter-failover'],
        );
      } finally {
        await r.close();
      }
    },
  );
});
