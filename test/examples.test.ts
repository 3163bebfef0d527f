import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { runScript } from './helpers/processes.js';
import { makeTempDir } from './helpers/tmp.js';

const example = (path: string): string =>
  fileURLToPath(new URL(`../examples/${path}`, import.meta.url));

test('examples/greeter: the demo starts a server and a client process and prints the reply', async () => {
  await using dir = await makeTempDir('example-greeter');
  const { stdout } = await runScript(example('greeter/demo.js'), ['Grace'], {
    env: { ...process.env, TSMICRO_REGISTRY_DIR: dir.path },
    timeoutMs: 30_000,
  });
  assert.match(stdout, /\[server\] greeter ready at 127\.0\.0\.1:\d+/);
  assert.match(stdout, /\[client\] Hello Grace/);
});

test('examples/observability: one call is traced across both services, logged, and counted on the metrics endpoint', async () => {
  const { stdout } = await runScript(example('observability/demo.js'), ['Grace'], {
    timeoutMs: 30_000,
  });
  assert.match(stdout, /\[call\] Hello Grace/);
  assert.match(stdout, /\[call\] error .*"code":400/);
  // The first call's three spans (call, attempt, handle) share one trace id.
  const spans = [...stdout.matchAll(/^\[trace\] ([0-9a-f]{32}) (.+)$/gm)].map((m) => ({
    traceId: m[1],
    name: m[2],
  }));
  const first = spans
    .filter((s) => s.traceId === spans[0].traceId)
    .map((s) => s.name)
    .sort();
  assert.deepEqual(first, [
    'greeter.Greeter.Hello',
    'greeter.Greeter.Hello',
    'greeter.Greeter.Hello attempt',
  ]);
  assert.match(
    stdout,
    /\[metrics\] micro_request_total\{[^}]*micro_endpoint="Greeter.Hello",micro_status="success"\} 1$/m,
  );
  assert.match(
    stdout,
    /\[metrics\] micro_request_total\{[^}]*micro_endpoint="Greeter.Hello",micro_status="failure"\} 1$/m,
  );
  assert.match(
    stdout,
    /\[metrics\] tsmicro_client_request_total\{[^}]*micro_status="success"\} 1$/m,
  );
});

test('examples/resilience: idempotent calls survive a node killed mid-load', async () => {
  await using dir = await makeTempDir('example-resilience');
  const { stdout } = await runScript(example('resilience/demo.js'), [], {
    env: { ...process.env, TSMICRO_REGISTRY_DIR: dir.path },
    timeoutMs: 60_000,
  });
  assert.match(stdout, /^killing \S+$/m);
  const calls = /^calls (\d+): ok (\d+), failed (\d+)$/m.exec(stdout);
  assert.ok(calls, stdout);
  assert.ok(Number(calls[1]) > 50, 'the load ran');
  assert.equal(calls[3], '0', 'no call failed');
  assert.match(stdout, /(ejected: true|gone from the registry)$/m);
});

test('examples/pubsub: a queue group shares the events, a broadcast subscriber sees them all (memory broker)', async () => {
  const { stdout } = await runScript(example('pubsub/main.js'), [], {
    env: { ...process.env, NATS_URL: '', TSMICRO_LOG_LEVEL: 'warn' },
    timeoutMs: 30_000,
  });
  const packed = stdout
    .split('\n')
    .filter((l) => / packs order \d+ \(book #\d+\) for tenant acme$/.test(l));
  assert.equal(packed.length, 6);
  assert.equal(new Set(packed.map((l) => l.split(' ')[3])).size, 6, 'each order packed once');
  assert.equal(stdout.split('\n').filter((l) => /^audit saw order \d+$/.test(l)).length, 6);
  assert.match(stdout, /done: 6 events, each packed once and audited once \(broker: memory\)/);
});

test('examples/context: calls in a handler inherit its budget and metadata by themselves, or with implicitContext: false only through { ctx }', async () => {
  const { stdout } = await runScript(example('context/main.js'), [], { timeoutMs: 30_000 });
  const lines = Object.fromEntries(
    [...stdout.matchAll(/^(\S+ \S+): back had (-?\d+) ms left, tenant (\S+)$/gm)].map((m) => [
      m[1],
      { leftMs: Number(m[2]), tenant: m[3] },
    ]),
  );
  for (const inherited of ['front Front.Relay', 'front-explicit Front.Relay']) {
    assert.equal(lines[inherited]?.tenant, 'acme', stdout);
    assert.ok(lines[inherited].leftMs > 0 && lines[inherited].leftMs <= 800, stdout);
  }
  assert.equal(lines['front-explicit Front.RelayWithoutCtx']?.tenant, '(none)', stdout);
  assert.ok(lines['front-explicit Front.RelayWithoutCtx'].leftMs > 4_000, 'a fresh 5 s budget');
});

test('examples/transports: one node serves gRPC and native; each client takes its path', async () => {
  const { stdout } = await runScript(example('transports/demo.js'), [], {
    timeoutMs: 30_000,
  });
  assert.match(stdout, /^\[server\] gRPC at 127\.0\.0\.1:\d+, native on port \d+$/m);
  assert.match(stdout, /^\[native\] Hello Ada$/m);
  assert.match(stdout, /^\[grpc\] Hello Grace$/m);
  assert.match(stdout, /^\[native-only\] Hello Linus$/m);
});

test('examples/streaming: server, client and bidi streams, cancel, and an error mid-stream', async () => {
  await using dir = await makeTempDir('example-streaming');
  const { stdout } = await runScript(example('streaming/main.js'), [], {
    env: { ...process.env, TSMICRO_REGISTRY_DIR: dir.path },
    timeoutMs: 30_000,
  });
  assert.equal(
    stdout,
    [
      'countdown: 3 2 1 0',
      'sum: 55',
      'echo: HELLO',
      'echo: STREAMS',
      'error: 400 too far to count',
      '',
    ].join('\n'),
  );
});

test('examples/security: mutual TLS and JWT auth let in the trusted caller only', async () => {
  const { stdout } = await runScript(example('security/demo.js'), [], {
    env: { ...process.env, TSMICRO_LOG_LEVEL: 'silent' },
    timeoutMs: 60_000,
  });
  // The caller's spoofed x-auth-subject: root is replaced by the verified subject.
  assert.match(stdout, /^\[trusted\] read s3cr3t as ada$/m);
  assert.match(stdout, /^\[no token\] refused: 401 /m);
  assert.match(stdout, /^\[no scope\] refused: 403 .*secrets:read/m);
  assert.match(
    stdout,
    /^\[no client certificate\] refused: 503 TLS connection to 127\.0\.0\.1:\d+ failed/m,
  );
});

test('examples/typed: a typed client calls a typed server across processes; a bad field is a 400 naming it', async () => {
  await using dir = await makeTempDir('example-typed');
  const { stdout } = await runScript(example('typed/demo.js'), ['Grace'], {
    env: { ...process.env, TSMICRO_REGISTRY_DIR: dir.path },
    timeoutMs: 30_000,
  });
  assert.match(stdout, /\[server\] typed-greeter ready at 127\.0\.0\.1:\d+/);
  assert.match(stdout, /\[client\] Bonjour Grace$/m);
  assert.match(stdout, /\[server\] greeted Grace$/m);
  assert.match(stdout, /\[client\] countdown 3 2 1 0$/m);
  assert.match(
    stdout,
    /\[client\] refused 400: invalid request to Greeter\.Hello: name: Invalid input: expected string, received number$/m,
  );
  assert.match(stdout, /\[client\] refused 400.*\n(?:\[server\].*\n)*\[client\] Hello again$/m);
});

test('examples/health: a failing critical check turns the probe to 503 and takes the node out of the registry, until it passes', async () => {
  await using dir = await makeTempDir('example-health');
  const { stdout } = await runScript(example('health/main.js'), [], {
    env: { ...process.env, TSMICRO_REGISTRY_DIR: dir.path, TSMICRO_LOG_LEVEL: 'warn' },
    timeoutMs: 30_000,
  });
  assert.match(stdout, /^ready: 200 \{"status":"up".*; in the registry: true$/m);
  assert.match(stdout, /^database down: 503 .*database unreachable.*; in the registry: false$/m);
  assert.match(stdout, /^database back: 200 .*; in the registry: true$/m);
  assert.match(stdout, /^a caller counts 3 items$/m);
});

test('examples/hedging: with one node hung, hedged idempotent calls are all answered by the other, and the hung handlers are cancelled', async () => {
  await using dir = await makeTempDir('example-hedging');
  const { stdout } = await runScript(example('hedging/main.js'), [], {
    env: { ...process.env, TSMICRO_REGISTRY_DIR: dir.path, TSMICRO_LOG_LEVEL: 'warn' },
    timeoutMs: 60_000,
  });
  assert.match(stdout, /^20 of 20 calls answered, all by the healthy node$/m);
  const m = /^hedges sent: (\d+); hung handlers cancelled: (\d+)$/m.exec(stdout);
  assert.ok(m, stdout);
  // How many first attempts hit the hung node depends on where round robin starts: at least one.
  assert.ok(Number(m[1]) >= 1, 'calls were hedged');
  assert.ok(Number(m[2]) >= 1, 'the losing attempts were cancelled');
});

test("examples/gateway: a contract's HTTP routes through the gateway, validated, errors mapped, documented", async () => {
  await using dir = await makeTempDir('example-gateway');
  const { stdout } = await runScript(example('gateway/main.js'), [], {
    env: { ...process.env, TSMICRO_REGISTRY_DIR: dir.path, TSMICRO_LOG_LEVEL: 'warn' },
    timeoutMs: 60_000,
  });
  assert.match(stdout, /^POST \/todos -> 200 \{"id":"1","title":"write the docs"\}$/m);
  assert.match(stdout, /^GET \/todos\/1 -> 200 \{"id":"1","title":"write the docs"\}$/m);
  assert.match(
    stdout,
    /^GET \/todos\/9 -> 404 \{"id":"todos","code":404,"detail":"no todo 9","status":"Not Found"\}$/m,
  );
  assert.match(
    stdout,
    /^POST \/todos -> 400 \{"id":"go.micro.gateway","code":400,"detail":"invalid request to Todos.Add: title: /m,
  );
  assert.match(stdout, /^POST \/todos\/Todos\/Get -> 200 /m);
  assert.match(
    stdout,
    /^openapi paths: \/rpc \/todos \/todos\/Todos\/Add \/todos\/Todos\/Get \/todos\/\{id\}$/m,
  );
});
