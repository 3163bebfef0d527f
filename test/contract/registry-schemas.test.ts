import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { z } from 'zod';
import {
  createService,
  defineService,
  endpointSchemas,
  implement,
  localRegistry,
  memoryBroker,
  type Registry,
} from '../../src/index.js';
import { consulRegistry } from '../../src/registry/consul/consul.js';
import { etcdRegistry } from '../../src/registry/etcd/etcd.js';
import { skipReason, startConsul, startEtcd, type RealServer } from '../helpers/servers.js';
import { quietLogger } from '../helpers/services.js';
import { makeTempDir, type TempDir } from '../helpers/tmp.js';
import {
  assertLargestNodeFits,
  assertRoundTrip,
  recordingLogger,
  registeredEndpoints,
} from './registry-fixture.js';

// A service implementing a Zod contract publishes its endpoints' types (go-micro Values) and JSON
// Schemas; another client of the same registry reads them back: the local registry (files), a
// real Consul agent and a real etcd.

/** The largest node the limit allows that these tests register: 64 endpoints, both schemas full. */
const LARGEST_NODE_ENDPOINTS = 64;

describe('registry schemas: local registry', () => {
  let dir: TempDir;
  let registry: Registry;
  let reader: Registry;
  before(async () => {
    dir = await makeTempDir('tsmicro-regschema-');
    registry = localRegistry({ dir: dir.path, logger: quietLogger() });
    reader = localRegistry({ dir: dir.path, logger: quietLogger() });
  });
  after(async () => {
    await registry?.close();
    await reader?.close();
    await dir?.[Symbol.asyncDispose]();
  });

  test('Values and JSON Schemas of every endpoint and the subscriber round-trip', async () => {
    await assertRoundTrip(registry, reader);
  });

  test('a schema over the limit is left out with a warning naming it; registration succeeds', async () => {
    const huge = z.object(
      Object.fromEntries(Array.from({ length: 200 }, (_, i) => [`field_${i}`, z.string()])),
    );
    const Big = defineService('schemas-huge', {
      Huge: { Put: { request: huge, response: z.object({ ok: z.boolean() }) } },
    });
    const { logger, lines } = recordingLogger();
    const service = createService({
      name: Big.name,
      registry,
      broker: memoryBroker(),
      logger,
      address: '127.0.0.1:0',
      handleSignals: false,
    });
    implement(service, Big, { Huge: { Put: () => ({ ok: true }) } });
    await service.start();
    try {
      const put = (await registeredEndpoints(reader, Big.name)).get('Huge.Put');
      assert.ok(put, 'the endpoint is registered');
      // The request's type is still there, 200 fields; only its JSON Schema is left out.
      assert.equal(put.request?.type, 'PutRequest');
      assert.equal(put.request?.values?.length, 200);
      const schemas = endpointSchemas(put);
      assert.equal(schemas.request, undefined);
      assert.deepEqual(schemas.response, {
        $schema: 'https://json-schema.org/draft/2020-12/schema',
        type: 'object',
        properties: { ok: { type: 'boolean' } },
        required: ['ok'],
      });
      const warnings = lines.filter((l) => l.level === 40);
      assert.equal(warnings.length, 1);
      assert.equal(warnings[0].endpoint, 'Huge.Put');
      assert.equal(warnings[0].part, 'request');
      assert.ok((warnings[0].bytes as number) > 4096);
      assert.match(String(warnings[0].msg), /request JSON Schema of Huge\.Put is left out/);
    } finally {
      await service.stop();
    }
  });

  test(`the largest node the limit allows (${LARGEST_NODE_ENDPOINTS} endpoints at the limit) fits`, async () => {
    await assertLargestNodeFits(registry, reader, LARGEST_NODE_ENDPOINTS);
  });
});

/** Each real registry: how to start its server, and a registry client on it. */
const REAL_REGISTRIES = [
  {
    suite: 'Consul (real agent)',
    kind: 'consul',
    carrier: 'the e- tags',
    start: startConsul,
    connect: (server: RealServer): Registry => consulRegistry({ address: server.address }),
  },
  {
    suite: 'etcd (real server)',
    kind: 'etcd',
    carrier: 'the node value',
    start: startEtcd,
    connect: (server: RealServer): Registry => etcdRegistry({ endpoints: server.address }),
  },
] as const;

for (const real of REAL_REGISTRIES) {
  const skip = await skipReason(real.kind);
  describe(`registry schemas: ${real.suite}`, { skip }, () => {
    let server: RealServer;
    before(async () => {
      server = await real.start();
    });
    after(async () => {
      await server?.[Symbol.asyncDispose]();
    });

    /** A registering client and a separate reading one, both closed after `fn`. */
    async function withPair(fn: (registry: Registry, reader: Registry) => Promise<void>) {
      const registry = real.connect(server);
      const reader = real.connect(server);
      try {
        await fn(registry, reader);
      } finally {
        await registry.close();
        await reader.close();
      }
    }

    test(`Values and JSON Schemas round-trip through ${real.carrier}`, () =>
      withPair((registry, reader) => assertRoundTrip(registry, reader)));

    test(`the largest node the limit allows (${LARGEST_NODE_ENDPOINTS} endpoints at the limit) fits`, () =>
      withPair((registry, reader) =>
        assertLargestNodeFits(registry, reader, LARGEST_NODE_ENDPOINTS),
      ));
  });
}
