import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Etcd3 } from 'etcd3';
import { MicroError, type RegistryService as Service } from '../../../src/index.js';
import { etcdRegistry } from '../../../src/registry/etcd/etcd.js';
import { skipReason, startEtcd, type RealServer } from '../../helpers/servers.js';
import { assertWatchLifecycle, nodeIds, waitFor } from '../../server/real-registry.js';

const skip = await skipReason('etcd');

function greeter(id: string, port: number, version = '1.0.0'): Service {
  return {
    name: 'greeter',
    version,
    metadata: {},
    endpoints: [
      {
        name: 'Greeter.Hello',
        request: { name: 'Req', type: 'Req', values: [{ name: 'name', type: 'string' }] },
        metadata: {},
      },
    ],
    nodes: [{ id, address: `127.0.0.1:${port}`, metadata: { protocol: 'grpc' } }],
  };
}

describe('etcd registry (real etcd)', { skip }, () => {
  let etcd: RealServer;
  before(async () => {
    etcd = await startEtcd();
  });
  after(async () => {
    await etcd?.[Symbol.asyncDispose]();
  });

  test('a node is a key under the prefix holding the service JSON, attached to a lease of its TTL', async () => {
    const r = etcdRegistry({ endpoints: etcd.address });
    const raw = new Etcd3({ hosts: etcd.address });
    try {
      await r.register(greeter('greeter-key', 5201), { ttlMs: 30_000 });
      const res = await raw.get('/micro/registry/greeter/greeter-key').exec();
      const kv = res.kvs[0];
      assert.deepEqual(JSON.parse(kv.value.toString()), greeter('greeter-key', 5201));
      assert.notEqual(kv.lease, '0', 'attached to a lease');
      const granted = await raw.leaseClient.leaseTimeToLive({ ID: kv.lease });
      assert.equal(granted.grantedTTL, '30');
      await r.deregister(greeter('greeter-key', 5201));
      assert.equal((await raw.get('/micro/registry/greeter/greeter-key').exec()).kvs.length, 0);
    } finally {
      raw.close();
      await r.close();
    }
  });

  test('getService groups by version; unknown gives []; a foreign key under the prefix is ignored', async () => {
    const r = etcdRegistry({ endpoints: etcd.address });
    const raw = new Etcd3({ hosts: etcd.address });
    try {
      await r.register(greeter('greeter-v1', 5211, '1.0.0'), { ttlMs: 30_000 });
      await r.register(greeter('greeter-v2', 5212, '2.0.0'), { ttlMs: 30_000 });
      await raw.put('/micro/registry/greeter/junk').value('not json');
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
      assert.deepEqual(await r.getService('nobody'), []);
      assert.deepEqual(
        (await r.listServices())
          .filter((s) => s.name === 'greeter')
          .map((s) => s.version)
          .sort(),
        ['1.0.0', '2.0.0'],
      );
    } finally {
      await raw.delete().key('/micro/registry/greeter/junk').exec();
      raw.close();
      await r.deregister(greeter('greeter-v1', 5211)).catch(() => {});
      await r.deregister(greeter('greeter-v2', 5212)).catch(() => {});
      await r.close();
    }
  });

  test('a node whose lease is not renewed disappears after its TTL; re-registering brings it back', async () => {
    const r = etcdRegistry({ endpoints: etcd.address });
    try {
      await r.register(greeter('greeter-ttl', 5230), { ttlMs: 2_000 });
      assert.deepEqual(await nodeIds(r, 'greeter'), ['greeter-ttl']);
      await waitFor(async () => (await nodeIds(r, 'greeter')).length === 0, 20_000, 'lease expiry');
      // The heartbeat finds the lease gone and writes the node again under a new one.
      await r.register(greeter('greeter-ttl', 5230), { ttlMs: 2_000 });
      assert.deepEqual(await nodeIds(r, 'greeter'), ['greeter-ttl']);
    } finally {
      await r.deregister(greeter('greeter-ttl', 5230)).catch(() => {});
      await r.close();
    }
  });

  test('watch reports create, update and delete of one service, and stops promptly', async () => {
    await assertWatchLifecycle(
      etcdRegistry({ endpoints: etcd.address }),
      { ...greeter('watched-1', 5240), name: 'watched' },
      '127.0.0.1:5241',
    );
  });
});

describe('etcd registry options', () => {
  test('bad options throw at construction, naming the option', () => {
    assert.throws(() => etcdRegistry({ endpoints: '127.0.0.1:2379' }), /endpoints/);
    assert.throws(() => etcdRegistry({ endpoints: [] }), /endpoints/);
    assert.throws(() => etcdRegistry({ prefix: '/no-slash' }), /prefix/);
    assert.throws(() => etcdRegistry({ requestTimeoutMs: 0 }), /requestTimeoutMs/);
  });

  test('an unreachable cluster fails with a 503, not a hang', async () => {
    const r = etcdRegistry({ endpoints: 'http://127.0.0.1:1', requestTimeoutMs: 2_000 });
    try {
      await assert.rejects(r.getService('x'), (err) => MicroError.is(err, 503));
      await assert.rejects(r.register(greeter('g-1', 1), { ttlMs: 10_000 }), (err) =>
        MicroError.is(err, 503),
      );
    } finally {
      await r.close();
    }
  });
});
