import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import protobuf from 'protobufjs';
import {
  clientFor,
  createService,
  MicroError,
  remaining,
  type HandlerContext,
  type Service,
} from '../../src/index.js';
import { jsonCodec } from '../../src/codec/json.js';
import { protoCodec } from '../../src/codec/proto.js';
import { protoContract } from '../../src/contract/proto.js';
import { consulRegistry } from '../../src/registry/consul/consul.js';
import type { Registry } from '../../src/registry/registry.js';
import { mucpTransport } from '../../src/transport/mucp/mucp.js';
import { GreeterDefinition, Mood } from '../gen/helloworld.js';
import { implementHelloGreeter } from './hello-greeter.js';
import { gomicroSkipReason, runPeer, startPeer, type Peer } from '../helpers/gomicro.js';
import { HELLO_PROTO } from '../helpers/protos.js';
import { skipReason, startConsul, type RealServer } from '../helpers/servers.js';

// go-micro's defaults — server.NewRPCServer and client.NewClient on transport.NewHTTPTransport,
// the "mucp" protocol (the peer's --transport http) — against tsmicro's mucp transport, both
// ways, through a real Consul (the registry both already share; mDNS is its own suite): JSON and
// protobuf bodies, errors, metadata, deadlines, and go-micro rpc streams.
const skip = (await skipReason('consul')) || (await gomicroSkipReason());

/** A budget no default resembles, so the other side's deadline can only come from it. */
const BUDGET_S = 1234;
const BIG = '9007199254740993';
const Greeter = protoContract('ts.mucp.proto', GreeterDefinition, { protos: HELLO_PROTO });

describe(
  "go-micro's default rpc/HTTP stack ⇄ tsmicro's mucp transport (real Consul)",
  { skip },
  () => {
    let consul: RealServer;
    let registry: Registry;
    let tsJson: Service;
    let tsProto: Service;
    let caller: Service;
    let goJson: Peer;
    let goProto: Peer;

    const goCall = (endpoint: string, body: unknown, extra: string[] = []) =>
      runPeer('call', [
        '--transport',
        'http',
        '--consul',
        consul.address,
        '--service',
        'ts.mucp',
        '--endpoint',
        endpoint,
        '--body',
        JSON.stringify(body),
        ...extra,
      ]);
    const goProtoCall = (rpc: string, body: unknown, contentType: string) =>
      runPeer('proto-call', [
        '--transport',
        'http',
        '--content-type',
        contentType,
        '--consul',
        consul.address,
        '--service',
        'ts.mucp.proto',
        '--rpc',
        rpc,
        '--body',
        JSON.stringify(body),
      ]);

    before(async () => {
      consul = await startConsul();
      registry = consulRegistry({ address: consul.address });
      // The preset: go-micro's default stack in one word (its registry is Consul here).
      tsJson = createService({
        name: 'ts.mucp',
        registry,
        profile: 'go-micro',
        env: false,
        handleSignals: false,
      });
      tsJson.handle('Greeter', {
        async Hello(req: { name: string }, ctx: HandlerContext) {
          return { msg: `Hello ${req.name}`, metadata: ctx.metadata, budgetMs: remaining(ctx) };
        },
        async Fail(req: { why: string }) {
          throw new MicroError('ts.mucp.fail', 409, `refused: ${req.why}`);
        },
      });
      tsProto = createService({
        name: Greeter.name,
        registry,
        transport: mucpTransport(),
        handleSignals: false,
        codecs: [protoCodec({ protos: HELLO_PROTO }), jsonCodec()],
      });
      implementHelloGreeter(tsProto, Greeter);
      await Promise.all([tsJson.start(), tsProto.start()]);
      [goJson, goProto] = await Promise.all([
        startPeer('server', [
          '--transport',
          'http',
          '--consul',
          consul.address,
          '--name',
          'go.mucp',
        ]),
        startPeer('server', [
          '--transport',
          'http',
          '--consul',
          consul.address,
          '--name',
          'go.mucp.proto',
          '--proto',
        ]),
      ]);
      await Promise.all([goJson, goProto].map((p) => p.waitFor((l) => l.event === 'ready')));
      caller = createService({
        name: 'ts.mucp.caller',
        registry,
        transport: mucpTransport(),
        handleSignals: false,
        retries: 0,
        codecs: [jsonCodec(), protoCodec({ protos: HELLO_PROTO })],
      });
    });
    after(async () => {
      await caller?.stop();
      await tsJson?.stop();
      await tsProto?.stop();
      await goJson?.stop();
      await goProto?.stop();
      await registry?.close();
      await consul?.[Symbol.asyncDispose]();
    });

    test("the go-micro node registers as go-micro's rpc server does, and so does the tsmicro node", async () => {
      const [go] = (await registry.getService('go.mucp'))[0].nodes;
      const [ts] = (await registry.getService('ts.mucp'))[0].nodes;
      for (const node of [go, ts]) {
        assert.equal(node.metadata.transport, 'http', JSON.stringify(node));
        assert.equal(node.metadata.protocol, 'mucp', JSON.stringify(node));
        assert.equal(node.metadata.server, 'mucp', JSON.stringify(node));
      }
    });

    test('go-micro → tsmicro, JSON: the call, its metadata and its deadline', async () => {
      const lines = await goCall('Greeter.Hello', { name: 'gopher' }, [
        '--count',
        '3',
        '--metadata',
        'x-request-id=req-42,Tenant=acme',
        '--timeout',
        `${BUDGET_S}s`,
      ]);
      assert.equal(lines.length, 3);
      for (const line of lines) {
        assert.equal(line.ok, true, JSON.stringify(line));
        const r = line.response as {
          msg: string;
          metadata: Record<string, string>;
          budgetMs: number;
        };
        assert.equal(r.msg, 'Hello gopher');
        assert.equal(r.metadata['x-request-id'], 'req-42');
        assert.equal(r.metadata['tenant'], 'acme');
        for (const k of [
          'timeout',
          'micro-service',
          'micro-endpoint',
          'content-type',
          'user-agent',
        ])
          assert.equal(r.metadata[k], undefined, k);
        assert.ok(
          r.budgetMs <= BUDGET_S * 1000 && r.budgetMs > BUDGET_S * 1000 - 600_000,
          `${r.budgetMs}`,
        );
      }
    });

    test('go-micro → tsmicro: a MicroError arrives with its id, code, detail and status; an unknown endpoint is a 404', async () => {
      assert.deepEqual(await goCall('Greeter.Fail', { why: 'quota' }), [
        {
          ok: false,
          error: { id: 'ts.mucp.fail', code: 409, detail: 'refused: quota', status: 'Conflict' },
        },
      ]);
      const [nope] = await goCall('Greeter.Nope', {});
      assert.equal(nope.ok, false);
      assert.equal((nope.error as { code: number }).code, 404, JSON.stringify(nope));
    });

    for (const contentType of ['application/protobuf', 'application/json'])
      test(`go-micro → tsmicro, generated client (${contentType}): unary with int64 past 2^53, and a server stream`, async () => {
        assert.deepEqual(
          await goProtoCall(
            'SayHello',
            { name: 'gopher', visits: BIG, mood: 'GRUMPY', tags: ['x'] },
            contentType,
          ),
          [
            {
              ok: true,
              responses: [
                { message: 'hello gopher from ts [x]', visits: '9007199254740994', mood: 'HAPPY' },
              ],
            },
          ],
        );
        assert.deepEqual(await goProtoCall('Countdown', { from: 3 }, contentType), [
          { ok: true, responses: [{ n: 3 }, { n: 2 }, { n: 1 }] },
        ]);
      });

    test('tsmicro → go-micro, JSON: the call, its metadata and its deadline', async () => {
      const out = await caller.client.call<{
        server: string;
        request: Record<string, unknown>;
        metadata: Record<string, string>;
        budgetMs: number;
      }>(
        'go.mucp',
        'Greeter.Hello',
        { name: 'ts' },
        { metadata: { 'x-request-id': 'req-7', tenant: 'acme' }, timeoutMs: BUDGET_S * 1000 },
      );
      assert.equal(out.server, 'go.mucp');
      assert.deepEqual(out.request, { name: 'ts' });
      // go-micro's HTTP transport hands its handlers the headers, in Go's canonical form.
      assert.equal(out.metadata['X-Request-Id'], 'req-7');
      assert.equal(out.metadata['Tenant'], 'acme');
      assert.equal(out.metadata['Micro-Endpoint'], 'Greeter.Hello');
      assert.ok(
        out.budgetMs <= BUDGET_S * 1000 && out.budgetMs > BUDGET_S * 1000 - 600_000,
        `${out.budgetMs}`,
      );
    });

    test('tsmicro → go-micro from a client on the default transport: the mucp node is called over mucp', async () => {
      const dflt = createService({
        name: 'ts.mucp.default',
        registry,
        handleSignals: false,
        retries: 0,
      });
      try {
        const out = await dflt.client.call<{ server: string; request: unknown }>(
          'go.mucp',
          'Greeter.Hello',
          {
            name: 'dflt',
          },
        );
        assert.equal(out.server, 'go.mucp');
        assert.deepEqual(out.request, { name: 'dflt' });
      } finally {
        await dflt.stop();
      }
    });

    test("tsmicro → go-micro: go-micro's error arrives as the same MicroError", async () => {
      const wkt = protobuf.Root.fromJSON(protobuf.common.get('google/protobuf/wrappers.proto')!);
      const proto = createService({
        name: 'ts.mucp.wkt',
        registry,
        transport: mucpTransport(),
        handleSignals: false,
        retries: 0,
        codecs: [
          protoCodec({
            protos: wkt,
            endpoints: {
              'Greeter.Fail': {
                request: 'google.protobuf.StringValue',
                response: 'google.protobuf.StringValue',
              },
              'Greeter.Upper': {
                request: 'google.protobuf.StringValue',
                response: 'google.protobuf.StringValue',
              },
            },
          }),
        ],
      });
      try {
        // Protobuf on the wire (application/protobuf): go-micro's proto codec decodes it.
        assert.deepEqual(await proto.client.call('go.mucp', 'Greeter.Upper', { value: 'grüße' }), {
          value: 'GRüßE from go.mucp',
        });
        await assert.rejects(
          proto.client.call('go.mucp', 'Greeter.Fail', { value: 'x' }),
          (err) => {
            assert.ok(MicroError.is(err));
            assert.deepEqual(err.toJSON(), {
              id: 'go.mucp.fail',
              code: 409,
              detail: 'refused x',
              status: 'Conflict',
            });
            return true;
          },
        );
      } finally {
        await proto.stop();
      }
    });

    test('tsmicro → go-micro, generated handler over protobuf: unary, a server stream and a bidi stream', async () => {
      const go = clientFor(Greeter, caller.client, { name: 'go.mucp.proto' });
      const opts = { contentType: 'application/protobuf' };
      assert.deepEqual(
        await go.Greeter.SayHello(
          { name: 'ada', visits: BIG, mood: Mood.HAPPY, tags: ['a', 'b'] },
          opts,
        ),
        {
          message: 'hello ada from go.mucp.proto [a,b]',
          visits: '9007199254740994',
          mood: Mood.GRUMPY,
        },
      );
      // go-micro v5.30's rpc server queues each stream message's body as a slice of its codec's
      // write buffer, which the next Send overwrites before the message is written: its own
      // client receives [1, 1, 1, 1] from this Countdown too (on both codecs). What must hold
      // is what go-micro's wire carries: four CountReply messages, then the clean end.
      const ns: number[] = [];
      for await (const m of await go.Greeter.Countdown({ from: 4 }, opts)) ns.push(m.n);
      assert.equal(ns.length, 4, JSON.stringify(ns));
      for (const n of ns) assert.ok(n >= 1 && n <= 4, JSON.stringify(ns));
      const chat = await go.Greeter.Chat(opts);
      const seqs: number[] = [];
      for (const seq of [1, 2, 3]) {
        await chat.send({ seq, text: `m${seq}` });
        const next = await chat[Symbol.asyncIterator]().next();
        seqs.push((next.value as { seq: number }).seq);
      }
      assert.deepEqual(seqs, [2, 4, 6]);
      // go-micro's rpc client never half-closes (its CloseSend is "not implemented"): it ends a
      // stream with Close, an EOS message and the connection closed. Its server sends no end of
      // its own once the handler has read that EOS, so a bidi stream ends here the same way.
      chat.cancel();
      // A stream handler's error (Countdown refuses a negative start) arrives as go-micro sent it.
      await assert.rejects(
        (async () => {
          for await (const _ of await go.Greeter.Countdown({ from: -1 }, opts)) void _;
        })(),
        (err) => {
          assert.ok(MicroError.is(err, 400), String(err));
          assert.match(err.detail, /from must not be negative, got -1/);
          return true;
        },
      );
    });
  },
);
