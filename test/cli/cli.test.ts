import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { runCli, startCli, type RunResult } from '../helpers/cli.js';
import { natsSkipReason, startNatsServer, type NatsServer } from '../helpers/nats.js';
import { startFixture, type Fixture } from '../helpers/processes.js';
import { skipReason, startConsul, type RealServer } from '../helpers/servers.js';
import { waitFor } from '../helpers/wait.js';

// The tsmicro command against a running service (test/fixtures/configured-service.ts) in a real
// Consul, publishing and subscribing over a real NATS, each started by this test; the command
// and the service are configured the same way, by MICRO_* variables.
const skip = (await skipReason('consul')) || natsSkipReason();

interface ReadyNode {
  id: string;
  address: string;
}

/** The JSON a command printed on stdout, after checking it exited 0. */
function json<T>(out: RunResult): T {
  assert.equal(out.code, 0, `exit ${out.code}; stderr: ${out.stderr}`);
  return JSON.parse(out.stdout) as T;
}

/** The MicroError JSON a command printed on stderr, after checking it exited 1. */
function microError(out: RunResult): { id: string; code: number; detail: string } {
  assert.equal(out.code, 1, `exit ${out.code}; stdout: ${out.stdout}; stderr: ${out.stderr}`);
  const lines = out.stderr.trim().split('\n');
  assert.equal(lines.length, 1, `one line on stderr: ${out.stderr}`);
  return JSON.parse(lines[0]) as { id: string; code: number; detail: string };
}

/** Checks a usage error: exit 2, one line on stderr starting with `tsmicro:`, nothing on stdout. */
function usage(out: RunResult, reason: RegExp): void {
  assert.equal(out.code, 2, `exit ${out.code}; stderr: ${out.stderr}`);
  assert.equal(out.stdout, '');
  const lines = out.stderr.trim().split('\n');
  assert.equal(lines.length, 1, `one line: ${out.stderr}`);
  assert.match(lines[0], /^tsmicro: /);
  assert.match(lines[0], reason);
}

describe('tsmicro CLI → a running service (real Consul, real NATS)', { skip }, () => {
  let consul: RealServer;
  let nats: NatsServer;
  let service: Fixture;
  let node: ReadyNode;
  let env: Record<string, string>;

  before(async () => {
    [consul, nats] = await Promise.all([startConsul(), startNatsServer()]);
    env = {
      TSMICRO_LOG_LEVEL: 'warn',
      MICRO_REGISTRY: 'consul',
      MICRO_REGISTRY_ADDRESS: consul.address,
      MICRO_BROKER: 'nats',
      MICRO_BROKER_ADDRESS: nats.url,
    };
    service = startFixture('configured-service', ['--server_metadata', 'team=ops'], {
      ...env,
      MICRO_SERVER_NAME: 'cli.target',
      MICRO_SERVER_VERSION: '1.4.0',
      CONFIGURED_TOPIC: 'cli.events',
    });
    const [line] = await service.waitForLine(/^\{"event":"ready".*$/);
    node = (JSON.parse(line) as { node: ReadyNode }).node;
  });
  after(async () => {
    await service?.kill('SIGTERM');
    await Promise.all([consul?.[Symbol.asyncDispose](), nats?.[Symbol.asyncDispose]()]);
  });

  test('services: JSON when piped, a table with --output table', async () => {
    const list = json<{ name: string; versions: string[] }[]>(await runCli(['services'], { env }));
    assert.deepEqual(
      list.find((s) => s.name === 'cli.target'),
      { name: 'cli.target', versions: ['1.4.0'] },
    );
    const table = await runCli(['services', '--output', 'table'], { env });
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, /^NAME\s+VERSIONS\n/);
    assert.match(table.stdout, /\ncli\.target\s+1\.4\.0\n/);
  });

  test('describe: nodes with address and metadata, endpoints with Values and JSON Schemas', async () => {
    const [svc] = json<
      {
        version: string;
        nodes: { id: string; address: string; metadata: Record<string, string> }[];
        endpoints: {
          name: string;
          request: { name: string; type: string; values?: { name: string; type: string }[] } | null;
          metadata: Record<string, string>;
          requestSchema?: { properties?: Record<string, unknown> };
          responseSchema?: unknown;
        }[];
      }[]
    >(await runCli(['describe', 'cli.target'], { env }));
    assert.equal(svc.version, '1.4.0');
    assert.deepEqual(
      svc.nodes.map((n) => [n.id, n.address, n.metadata.team, n.metadata.registry]),
      [[node.id, node.address, 'ops', 'consul']],
    );
    const hello = svc.endpoints.find((e) => e.name === 'Greeter.Hello');
    assert.ok(hello, JSON.stringify(svc.endpoints));
    assert.deepEqual(hello.request?.values, [{ name: 'name', type: 'string' }]);
    assert.deepEqual(Object.keys(hello.requestSchema?.properties ?? {}), ['name']);
    assert.ok(hello.responseSchema, 'response schema shown');
    assert.equal(hello.metadata.request_schema, undefined, 'shown parsed, not as raw metadata');
    const countdown = svc.endpoints.find((e) => e.name === 'Greeter.Countdown');
    assert.equal(countdown?.metadata.stream, 'true');

    const table = await runCli(['describe', 'cli.target', '-o', 'table'], { env });
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, /^cli\.target 1\.4\.0\n/);
    assert.match(table.stdout, /Greeter\.Hello\s+HelloRequest\{name string\}/);
    assert.match(table.stdout, /Greeter\.Hello request schema: +\{/);

    const missing = microError(await runCli(['describe', 'no.such.service'], { env }));
    assert.equal(missing.code, 404);
    assert.match(missing.detail, /no\.such\.service: not found in the consul registry/);
  });

  test('call: unary with metadata, from an argument, stdin or a direct address', async () => {
    assert.deepEqual(
      json(
        await runCli(['call', 'cli.target', 'Greeter.Hello', '{"name":"ann"}', '-m', 'team=qa'], {
          env,
        }),
      ),
      { msg: 'hello ann', metadata: { team: 'qa' } },
    );
    assert.deepEqual(
      json(
        await runCli(['call', 'cli.target', 'Greeter.Hello', '-'], {
          env,
          input: '{"name":"bo"}\n',
        }),
      ),
      { msg: 'hello bo', metadata: {} },
    );
    assert.deepEqual(
      json(
        await runCli(
          [
            'call',
            'cli.target',
            'Greeter.Hello',
            '{"name":"cy"}',
            '--address',
            node.address,
            '--timeout',
            '2s',
          ],
          { env },
        ),
      ),
      { msg: 'hello cy', metadata: {} },
    );
  });

  test('call: the service refusing the request is its MicroError on stderr, exit 1', async () => {
    const refused = microError(
      await runCli(['call', 'cli.target', 'Greeter.Hello', '{"name":7}'], { env }),
    );
    assert.equal(refused.code, 400);
    assert.match(refused.detail, /name/);
    const unknown = microError(await runCli(['call', 'no.such.service', 'X.Y', '{}'], { env }));
    assert.equal(unknown.code, 503);
  });

  test('usage errors: exit 2 with a one-line reason', async () => {
    usage(
      await runCli(['call', 'cli.target', 'Greeter.Hello', '{name'], { env }),
      /the message is not JSON/,
    );
    usage(await runCli(['call', 'cli.target'], { env }), /missing required argument 'endpoint'/);
    usage(
      await runCli(['call', 'cli.target', 'Greeter.Hello', '--timeout', '5'], { env }),
      /--timeout: expected a Go duration/,
    );
    usage(await runCli(['services', '--registy', 'consul'], { env }), /unknown option '--registy'/);
    usage(
      await runCli(['services'], { env: { ...env, MICRO_REGISTRY: 'consol' } }),
      /MICRO_REGISTRY: expected one of local, memory, consul, etcd, mdns/,
    );
    usage(
      await runCli(['publish', 'cli.events', '{}'], {
        env: { ...env, MICRO_BROKER: 'memory', MICRO_BROKER_ADDRESS: '' },
      }),
      /memory broker lives in one process/,
    );
  });

  test('stream: a server stream and a bidi stream, NDJSON in and out', async () => {
    const countdown = await runCli(['stream', 'cli.target', 'Greeter.Countdown'], {
      env,
      input: '{"from":3}\n',
    });
    assert.equal(countdown.code, 0, countdown.stderr);
    assert.deepEqual(
      countdown.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as unknown),
      [{ n: 3 }, { n: 2 }, { n: 1 }],
    );
    const chat = await runCli(['stream', 'cli.target', 'Echo.Chat'], {
      env,
      input: '{"text":"a"}\n\n{"text":"b"}\n',
    });
    assert.equal(chat.code, 0, chat.stderr);
    assert.equal(chat.stdout, '{"text":"A"}\n{"text":"B"}\n');
    usage(
      await runCli(['stream', 'cli.target', 'Echo.Chat'], {
        env,
        input: '{"text":"a"}\nnot json\n',
      }),
      /stdin line 2 is not JSON/,
    );
  });

  test('publish reaches the service over NATS; subscribe prints what is published', async () => {
    const published = await runCli(['publish', 'cli.events', '{"n":1}', '-m', 'origin=cli'], {
      env,
    });
    assert.equal(published.code, 0, published.stderr);
    const [line] = await service.waitForLine(/^\{"event":"received".*$/);
    const got = JSON.parse(line) as { body: unknown; header: Record<string, string> };
    assert.deepEqual(got.body, { n: 1 });
    assert.equal(got.header.origin, 'cli');

    await using sub = startCli(
      ['subscribe', 'cli.events', '--queue', 'cli-q', '--count', '2'],
      env,
    );
    await waitFor(
      () => sub.stderr().includes('subscribed to cli.events'),
      15_000,
      () => sub.stderr(),
    );
    const two = await runCli(['publish', 'cli.events', '-'], { env, input: '{"n":2}\n{"n":3}\n' });
    assert.equal(two.code, 0, two.stderr);
    assert.equal(await sub.exited, 0, 'exits 0 after --count events');
    const events = sub.lines.map(
      (l) => JSON.parse(l) as { topic: string; body: unknown; header: Record<string, string> },
    );
    assert.deepEqual(
      events.map((e) => [e.topic, e.body]),
      [
        ['cli.events', { n: 2 }],
        ['cli.events', { n: 3 }],
      ],
    );
    assert.equal(events[0].header['Micro-Topic'], 'cli.events', "go-micro's headers");
  });
});
