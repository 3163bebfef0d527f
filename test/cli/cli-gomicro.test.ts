import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { runCli } from '../helpers/cli.js';
import { gomicroSkipReason, startPeer, type Peer } from '../helpers/gomicro.js';
import { skipReason, startConsul, type RealServer } from '../helpers/servers.js';

// The tsmicro command finds a real go-micro v5 gRPC server (test/gomicro/peer, serving
// helloworld.Greeter from test/protos) in a real Consul, describes it and calls it: protobuf
// bodies from JSON through --proto, as grpcurl does.
const skip = (await skipReason('consul')) || (await gomicroSkipReason());
const PROTO = fileURLToPath(new URL('../../../test/protos/helloworld.proto', import.meta.url));

describe('tsmicro CLI → go-micro gRPC server (real Consul)', { skip }, () => {
  let consul: RealServer;
  let peer: Peer;
  let ready: { address: string; id: string };
  let env: Record<string, string>;

  before(async () => {
    consul = await startConsul();
    peer = await startPeer('server', [
      '--consul',
      consul.address,
      '--name',
      'go.cli',
      '--version',
      '2.1.0',
      '--proto',
    ]);
    ready = (await peer.waitFor((l) => l.event === 'ready')) as { address: string; id: string };
    env = {
      TSMICRO_LOG_LEVEL: 'warn',
      MICRO_REGISTRY: 'consul',
      MICRO_REGISTRY_ADDRESS: consul.address,
    };
  });
  after(async () => {
    await peer?.stop();
    await consul?.[Symbol.asyncDispose]();
  });

  test('services lists it; describe shows its node and its protobuf endpoints', async () => {
    const services = await runCli(['services'], { env });
    assert.equal(services.code, 0, services.stderr);
    assert.deepEqual(
      (JSON.parse(services.stdout) as { name: string; versions: string[] }[]).find(
        (s) => s.name === 'go.cli',
      ),
      { name: 'go.cli', versions: ['2.1.0'] },
    );
    const described = await runCli(['describe', 'go.cli'], { env });
    assert.equal(described.code, 0, described.stderr);
    const [svc] = JSON.parse(described.stdout) as {
      nodes: { id: string; address: string; metadata: Record<string, string> }[];
      endpoints: { name: string; request: { name: string } | null }[];
    }[];
    assert.deepEqual(
      svc.nodes.map((n) => [n.id, n.address, n.metadata.server]),
      [[ready.id, ready.address, 'grpc']],
    );
    const hello = svc.endpoints.find((e) => e.name === 'Greeter.SayHello');
    assert.equal(hello?.request?.name, 'HelloRequest');
  });

  test('call and stream with --proto: JSON in, protobuf on the wire, JSON out', async () => {
    const call = await runCli(
      [
        'call',
        'go.cli',
        'Greeter.SayHello',
        '{"name":"cli","visits":"9007199254740993","mood":"HAPPY","tags":["a","b"]}',
        '--proto',
        PROTO,
      ],
      { env },
    );
    assert.equal(call.code, 0, call.stderr);
    assert.deepEqual(JSON.parse(call.stdout), {
      message: 'hello cli from go.cli [a,b]',
      visits: '9007199254740994',
      mood: 'GRUMPY',
    });
    const stream = await runCli(['stream', 'go.cli', 'Greeter.Countdown', '--proto', PROTO], {
      env,
      input: '{"from":2}\n',
    });
    assert.equal(stream.code, 0, stream.stderr);
    assert.equal(stream.stdout, '{"n":2}\n{"n":1}\n');
    // go-micro's own error, as it sent it.
    const refused = await runCli(['stream', 'go.cli', 'Greeter.Countdown', '--proto', PROTO], {
      env,
      input: '{"from":-1}\n',
    });
    assert.equal(refused.code, 1, refused.stderr);
    const err = JSON.parse(refused.stderr) as { id: string; code: number; detail: string };
    assert.deepEqual([err.id, err.code], ['go.cli', 400]);
    assert.match(err.detail, /from must not be negative/);
  });
});
