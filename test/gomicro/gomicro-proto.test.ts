import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  clientFor,
  createService,
  MicroError,
  type ContractClient,
  type Service,
} from '../../src/index.js';
import { jsonCodec } from '../../src/codec/json.js';
import { protoCodec } from '../../src/codec/proto.js';
import { protoContract } from '../../src/contract/proto.js';
import { consulRegistry } from '../../src/registry/consul/consul.js';
import type { Registry } from '../../src/registry/registry.js';
import { GreeterDefinition, Mood } from '../gen/helloworld.js';
import { implementHelloGreeter } from './hello-greeter.js';
import { ShapesDefinition } from '../gen/shapes.js';
import { fileURLToPath } from 'node:url';
import { gomicroSkipReason, runPeer, startPeer, type Peer } from '../helpers/gomicro.js';
import { HELLO_PROTO } from '../helpers/protos.js';
import { skipReason, startConsul, type RealServer } from '../helpers/servers.js';

// One .proto (test/protos/helloworld.proto), two generators: the go-micro peer is built with the
// Go code protoc-gen-go and protoc-gen-micro generate from it (RegisterGreeterHandler,
// NewGreeterService), tsmicro uses the contract protoContract makes of ts-proto's definition. Each
// calls the other through a real Consul, unary and streaming, with 64-bit integers past 2^53 and
// enums crossing by value. Neither side's answers are constants: each is computed from every
// field of the request, so a field that crossed wrongly shows.
const skip = (await skipReason('consul')) || (await gomicroSkipReason());

const Greeter = protoContract('ts.proto', GreeterDefinition, { protos: HELLO_PROTO });
/** 2^53 + 1: no JS number holds it, so only an exact int64 path gets `+ 1` right. */
const BIG = '9007199254740993';
const INT64_MIN = '-9223372036854775808';
const SHAPES_PROTO = fileURLToPath(new URL('../../../test/protos/shapes.proto', import.meta.url));

describe(
  'helloworld.proto: go-micro (protoc-gen-micro) ⇄ tsmicro (ts-proto + protoContract), real Consul',
  { skip },
  () => {
    let consul: RealServer;
    let registry: Registry;
    let server: Service;
    let caller: Service;
    let peer: Peer;
    let go: ContractClient<typeof Greeter>;
    const goCall = (rpc: string, body: unknown): Promise<Record<string, unknown>[]> =>
      runPeer('proto-call', [
        '--consul',
        consul.address,
        '--service',
        'ts.proto',
        '--rpc',
        rpc,
        '--body',
        JSON.stringify(body),
      ]);

    before(async () => {
      consul = await startConsul();
      registry = consulRegistry({ address: consul.address });
      server = createService({
        name: Greeter.name,
        registry,
        address: '127.0.0.1:0',
        handleSignals: false,
        // JSON too, for go-micro's JSON callers (the validation test).
        codecs: [protoCodec({ protos: HELLO_PROTO }), jsonCodec()],
      });
      implementHelloGreeter(server, Greeter);
      await server.start();
      peer = await startPeer('server', [
        '--consul',
        consul.address,
        '--name',
        'go.proto',
        '--proto',
      ]);
      await peer.waitFor((l) => l.event === 'ready');
      caller = createService({
        name: 'ts.proto-caller',
        registry,
        handleSignals: false,
        retries: 0,
        codecs: [protoCodec({ protos: HELLO_PROTO })],
      });
      // protoc-gen-micro's NewGreeterService("go.proto", client).
      go = clientFor(Greeter, caller.client, { name: 'go.proto' });
    });
    after(async () => {
      await caller?.stop();
      await server?.stop();
      await peer?.stop();
      await registry?.close();
      await consul?.[Symbol.asyncDispose]();
    });

    test('tsmicro → go-micro, unary: int64 past 2^53 and at its minimum, enum and repeated fields', async () => {
      assert.deepEqual(
        await go.Greeter.SayHello({ name: 'ada', visits: BIG, mood: Mood.HAPPY, tags: ['a', 'b'] }),
        { message: 'hello ada from go.proto [a,b]', visits: '9007199254740994', mood: Mood.GRUMPY },
      );
      // Fields left out are sent as their defaults, as in Go.
      assert.deepEqual(await go.Greeter.SayHello({ visits: INT64_MIN }), {
        message: 'hello  from go.proto []',
        visits: '-9223372036854775807',
        mood: Mood.HAPPY,
      });
    });

    test('tsmicro → go-micro, server stream and client stream', async () => {
      const ns: number[] = [];
      for await (const m of await go.Greeter.Countdown({ from: 4 })) ns.push(m.n);
      assert.deepEqual(ns, [4, 3, 2, 1]);

      const sum = await go.Greeter.Sum();
      for (const value of [BIG, '-1', '10']) await sum.send({ value });
      assert.deepEqual(await sum.closeAndRecv(), { total: '9007199254741002', count: 3 });
    });

    test('a go-micro error from a generated handler reaches tsmicro as a MicroError', async () => {
      await assert.rejects(
        go.Greeter.Countdown({ from: -1 }).then(async (s) => {
          for await (const _ of s) void _;
        }),
        (err: unknown) => {
          assert.ok(MicroError.is(err), String(err));
          assert.equal(err.code, 400);
          assert.equal(err.detail, 'from must not be negative, got -1');
          return true;
        },
      );
    });

    test('go-micro → tsmicro, unary through NewGreeterService: int64 and enum by value', async () => {
      assert.deepEqual(
        await goCall('SayHello', { name: 'gopher', visits: BIG, mood: 'GRUMPY', tags: ['x'] }),
        [
          {
            ok: true,
            responses: [
              { message: 'hello gopher from ts [x]', visits: '9007199254740994', mood: 'HAPPY' },
            ],
          },
        ],
      );
      assert.deepEqual(await goCall('SayHello', { visits: INT64_MIN, mood: 'HAPPY' }), [
        {
          ok: true,
          responses: [
            { message: 'hello  from ts []', visits: '-9223372036854775807', mood: 'GRUMPY' },
          ],
        },
      ]);
    });

    test('go-micro → tsmicro, server stream and client stream', async () => {
      assert.deepEqual(await goCall('Countdown', { from: 3 }), [
        { ok: true, responses: [{ n: 3 }, { n: 2 }, { n: 1 }] },
      ]);
      assert.deepEqual(await goCall('Sum', [{ value: BIG }, { value: '-1' }, { value: '10' }]), [
        { ok: true, responses: [{ total: '9007199254741002', count: 3 }] },
      ]);
    });

    test('a go-micro JSON caller: a valid body is normalised to whole messages, a bad one is a 400 naming each field', async () => {
      // go-micro's own JSON codec (protojson-free: encoding/json of a map) leaves fields out.
      const json = (body: unknown): Promise<Record<string, unknown>[]> =>
        runPeer('call', [
          '--consul',
          consul.address,
          '--service',
          'ts.proto',
          '--endpoint',
          'Greeter.SayHello',
          '--body',
          JSON.stringify(body),
        ]);
      assert.deepEqual(await json({ name: 'j', visits: '5' }), [
        { ok: true, response: { message: 'hello j from ts []', visits: '6', mood: 'HAPPY' } },
      ]);
      assert.deepEqual(await json({ name: 5, visits: 'many', mood: 'SAD', tags: ['a', 1] }), [
        {
          ok: false,
          error: {
            id: 'go.micro.server',
            code: 400,
            detail:
              'invalid request to Greeter.SayHello: name: expected string, received number; ' +
              'visits: expected a decimal string (int64), received string "many"; ' +
              'mood: expected one of MOOD_UNSPECIFIED, HAPPY, GRUMPY, received "SAD"; ' +
              'tags[1]: expected string, received number',
            status: 'Bad Request',
          },
        },
      ]);
    });

    test("the contract's registry Value of each message is what go-micro registers for its Go struct", async () => {
      const [svc] = await registry.getService('go.proto');
      const sayHello = svc.endpoints.find((e) => e.name === 'Greeter.SayHello');
      assert.ok(sayHello, JSON.stringify(svc.endpoints.map((e) => e.name)));
      assert.deepEqual(Greeter.handlers.Greeter.SayHello.request.registryValue, sayHello.request);
      assert.deepEqual(Greeter.handlers.Greeter.SayHello.response.registryValue, sayHello.response);
      assert.deepEqual(
        svc.endpoints
          .map((e) => e.name)
          .filter((n) => n.startsWith('Greeter.'))
          .sort(),
        Object.keys(Greeter.handlers.Greeter)
          .map((m) => `Greeter.${m}`)
          .sort(),
      );
    });
    test("tsmicro's own registry entry, read back from Consul, describes each message as go-micro's does", async () => {
      const [ours] = await registry.getService(Greeter.name);
      const [theirs] = await registry.getService('go.proto');
      const endpoint = (svc: typeof ours, name: string) => {
        const e = svc.endpoints.find((x) => x.name === name);
        assert.ok(e, `${svc.name} has ${name}`);
        return e;
      };
      const unary = endpoint(ours, 'Greeter.SayHello');
      assert.deepEqual(unary.request, endpoint(theirs, 'Greeter.SayHello').request);
      assert.deepEqual(unary.response, endpoint(theirs, 'Greeter.SayHello').response);
      // For a stream go-micro reflects its handler's Go arguments (`Context`); tsmicro publishes
      // the messages the stream carries, in the same form as a unary endpoint's.
      assert.deepEqual(endpoint(theirs, 'Greeter.Countdown').request, {
        name: 'Context',
        type: 'Context',
      });
      const countdown = endpoint(ours, 'Greeter.Countdown');
      assert.deepEqual(countdown.request, Greeter.handlers.Greeter.Countdown.request.registryValue);
      assert.deepEqual(
        countdown.response,
        Greeter.handlers.Greeter.Countdown.response.registryValue,
      );
      assert.equal(countdown.metadata.stream, 'true');
    });
    test('every kind of field (nested, repeated, map, bytes, oneof, optional, deeper than 3) has the Value go-micro registers', async () => {
      const Shapes = protoContract('shapes', ShapesDefinition, { protos: SHAPES_PROTO });
      const [svc] = await registry.getService('go.proto');
      const echo = svc.endpoints.find((e) => e.name === 'Shapes.Echo');
      assert.ok(echo, JSON.stringify(svc.endpoints.map((e) => e.name)));
      assert.deepEqual(Shapes.handlers.Shapes.Echo.request.registryValue, echo.request);
      assert.deepEqual(Shapes.handlers.Shapes.Echo.response.registryValue, echo.response);
    });
  },
);
