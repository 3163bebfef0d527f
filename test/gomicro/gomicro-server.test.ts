import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createService, MicroError, type Registry, type Service } from '../../src/index.js';
import { consulRegistry } from '../../src/registry/consul/consul.js';
import protobuf from 'protobufjs';
import { protoCodec } from '../../src/codec/proto.js';
import { gomicroSkipReason, startPeer, type Peer } from '../helpers/gomicro.js';
import { skipReason, startConsul, type RealServer } from '../helpers/servers.js';
import {
  decodeStringValue,
  decodeStruct,
  encodeStringValue,
  encodeStruct,
} from './protobuf-wkt.js';

// tsmicro's client finds a real go-micro v5 gRPC server (test/gomicro/peer) in a real Consul and
// calls it. @grpc/grpc-js always sends `content-type: application/grpc`, which a go-micro server
// maps to its proto codec whatever `x-content-type` says, so the bodies here are protobuf: the
// peer's handlers take well-known types (StringValue, Struct), encoded in the test with
// protobufjs and carried by tsmicro's bytes codec.
const skip = (await skipReason('consul')) || (await gomicroSkipReason());

const BYTES = { contentType: 'application/grpc+bytes' } as const;
const TIMEOUT_MS = 1_234_000;

describe('tsmicro client → go-micro gRPC server (real Consul)', { skip }, () => {
  let consul: RealServer;
  let peer: Peer;
  let ready: { address: string; id: string };
  let registry: Registry;
  let caller: Service;

  before(async () => {
    consul = await startConsul();
    peer = await startPeer('server', [
      '--consul',
      consul.address,
      '--name',
      'go.interop',
      '--version',
      '2.0.0',
      '--meta',
      'team=go,tier=gold',
    ]);
    ready = (await peer.waitFor((l) => l.event === 'ready')) as { address: string; id: string };
    registry = consulRegistry({ address: consul.address });
    caller = createService({ name: 'ts.caller', registry, handleSignals: false, retries: 0 });
  });
  after(async () => {
    await caller?.stop();
    await registry?.close();
    await peer?.stop();
    await consul?.[Symbol.asyncDispose]();
  });

  test('the Go node decodes from Consul: id, loopback address, version, metadata, endpoints', async () => {
    assert.match(
      ready.address,
      /^127\.0\.0\.1:\d+$/,
      'advertised on loopback, never a LAN address',
    );
    const services = await registry.getService('go.interop');
    assert.equal(services.length, 1);
    const [svc] = services;
    assert.equal(svc.name, 'go.interop');
    assert.equal(svc.version, '2.0.0');
    assert.deepEqual(svc.nodes, [
      {
        id: ready.id,
        address: ready.address,
        // go-micro's grpc server adds broker/registry/server/transport/protocol to ours.
        metadata: {
          team: 'go',
          tier: 'gold',
          broker: 'http',
          registry: 'consul',
          server: 'grpc',
          transport: 'grpc',
          protocol: 'grpc',
        },
      },
    ]);
    const endpoints = svc.endpoints.map((e) => e.name).sort();
    assert.deepEqual(endpoints, ['Greeter.Fail', 'Greeter.Hello', 'Greeter.Upper']);
    const upper = svc.endpoints.find((e) => e.name === 'Greeter.Upper')!;
    assert.equal(upper.request?.name, 'StringValue');
    assert.equal(upper.response?.name, 'StringValue');
  });

  test('a call through discovery succeeds (protobuf StringValue over the bytes codec)', async () => {
    for (const word of ['hello', 'grüße', '']) {
      const res = await caller.client.call<Uint8Array>(
        'go.interop',
        'Greeter.Upper',
        encodeStringValue(word),
        BYTES,
      );
      assert.equal(decodeStringValue(res), `${asciiUpper(word)} from go.interop`);
    }
  });

  test('with the proto codec the same call takes plain objects: protobuf on the wire, as go-micro expects', async () => {
    const wkt = protobuf.Root.fromJSON(protobuf.common.get('google/protobuf/wrappers.proto')!);
    const proto = createService({
      name: 'ts.proto-caller',
      registry,
      handleSignals: false,
      retries: 0,
      codecs: [
        protoCodec({
          protos: wkt,
          endpoints: {
            'Greeter.Upper': {
              request: 'google.protobuf.StringValue',
              response: 'google.protobuf.StringValue',
            },
          },
        }),
      ],
    });
    try {
      const res = await proto.client.call<{ value: string }>('go.interop', 'Greeter.Upper', {
        value: 'proto',
      });
      assert.deepEqual(res, { value: 'PROTO from go.interop' });
    } finally {
      await proto.stop();
    }
  });

  test('metadata reaches the Go handler, hop keys do not, and the budget is its deadline', async () => {
    const res = await caller.client.call<Uint8Array>(
      'go.interop',
      'Greeter.Hello',
      encodeStruct({ name: 'ts', n: 3, tags: ['a', 'b'] }),
      {
        ...BYTES,
        timeoutMs: TIMEOUT_MS,
        metadata: { 'x-request-id': 'req-7', tenant: 'acme' },
      },
    );
    const out = decodeStruct(res) as {
      server: string;
      request: unknown;
      metadata: Record<string, string>;
      budgetMs: number;
    };
    assert.equal(out.server, 'go.interop');
    assert.deepEqual(out.request, { name: 'ts', n: 3, tags: ['a', 'b'] });
    assert.equal(out.metadata['x-request-id'], 'req-7');
    assert.equal(out.metadata['tenant'], 'acme');
    assert.equal(
      out.metadata['timeout'],
      undefined,
      'go-micro strips the budget it turned into the deadline',
    );
    assert.equal(out.metadata['x-content-type'], undefined);
    assert.ok(
      out.budgetMs <= TIMEOUT_MS && out.budgetMs > TIMEOUT_MS - 600_000,
      `Go handler budget ${out.budgetMs} ms`,
    );
  });

  test('a go-micro error reaches tsmicro as a MicroError with the same fields', async () => {
    await assert.rejects(
      caller.client.call('go.interop', 'Greeter.Fail', encodeStringValue('quota'), BYTES),
      (err: unknown) => {
        assert.ok(MicroError.is(err), String(err));
        assert.deepEqual(err.toJSON(), {
          id: 'go.interop.fail',
          code: 409,
          detail: 'refused quota',
          status: 'Conflict',
        });
        return true;
      },
    );
  });

  test('an endpoint the Go server does not have is a MicroError (501 from Unimplemented)', async () => {
    await assert.rejects(
      caller.client.call('go.interop', 'Greeter.Nope', encodeStringValue('x'), BYTES),
      (err: unknown) => {
        assert.ok(MicroError.is(err), String(err));
        assert.equal(err.code, 501);
        assert.match(err.detail, /unknown service Greeter\.Nope/);
        return true;
      },
    );
  });

  // Last: stops the Go server.
  test('a go-micro server that stops deregisters; tsmicro then finds no node and says so', async () => {
    assert.equal(await peer.stop(), 0, peer.stderr());
    assert.deepEqual(await registry.getService('go.interop'), []);
    const call = (): Promise<unknown> =>
      caller.client.call('go.interop', 'Greeter.Upper', encodeStringValue('gone'), {
        ...BYTES,
        timeoutMs: 10_000,
      });
    // The selector keeps last-known nodes when a registry turns empty until they fail, so the
    // first call may still reach the dead address (refused, 503); the next one finds none.
    const first = await call().then(
      () => undefined,
      (err: unknown) => err,
    );
    assert.ok(MicroError.is(first), String(first));
    assert.ok(first.code === 503 || first.code === 500, JSON.stringify(first.toJSON()));
    await assert.rejects(call(), (err: unknown) => {
      assert.ok(MicroError.is(err), String(err));
      assert.deepEqual(err.toJSON(), {
        id: 'go.micro.client',
        code: 503,
        detail: 'service go.interop: not found',
        status: 'Service Unavailable',
      });
      return true;
    });
  });
});

/** What the Go handler does: a–z upper-cased, every other byte (UTF-8 included) untouched. */
function asciiUpper(s: string): string {
  return s.replace(/[a-z]/g, (c) => c.toUpperCase());
}
