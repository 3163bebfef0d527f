import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import {
  Server,
  ServerCredentials,
  status as grpcStatus,
  type sendUnaryData,
  type ServerUnaryCall,
} from '@grpc/grpc-js';
import protobuf from 'protobufjs';
import { createService, localRegistry, type Registry } from '../../src/index.js';
import { runCli, startCli } from '../helpers/cli.js';
import { startFixture } from '../helpers/processes.js';
import { quietLogger } from '../helpers/services.js';
import { waitFor } from '../helpers/wait.js';

// The verbs that need no server: watch on the local registry (the default), and health against a
// plain @grpc/grpc-js server implementing grpc.health.v1, registered as a node by hand.

describe('tsmicro CLI on the local registry', () => {
  let dir: string;
  let env: Record<string, string>;
  let registry: Registry;

  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'tsmicro-cli-'));
    env = { TSMICRO_LOG_LEVEL: 'warn', TSMICRO_REGISTRY_DIR: dir };
    registry = localRegistry({ dir });
  });
  after(async () => {
    await registry?.close();
    await rm(dir, { recursive: true, force: true });
  });

  test('watch prints a service coming and going as NDJSON', { timeout: 30_000 }, async () => {
    await using watch = startCli(['watch', 'cli.watched', '--count', '2'], env);
    await waitFor(
      () => watch.stderr().includes('watching cli.watched'),
      15_000,
      () => watch.stderr(),
    );
    const svc = startFixture('configured-service', [], {
      ...env,
      MICRO_SERVER_NAME: 'cli.watched',
    });
    const [ready] = await svc.waitForLine(/^\{"event":"ready".*$/);
    const id = (JSON.parse(ready) as { node: { id: string } }).node.id;
    // Seen before it goes: a create and a delete within one rescan would cancel out.
    await watch.waitForLine(/"action":"create"/);
    await svc.kill('SIGTERM');
    assert.equal(await watch.exited, 0, watch.stderr());
    const events = watch.lines.map(
      (l) =>
        JSON.parse(l) as { action: string; service: { name: string; nodes: { id: string }[] } },
    );
    assert.deepEqual(
      events.map((e) => [e.action, e.service.name, e.service.nodes.map((n) => n.id)]),
      [
        ['create', 'cli.watched', [id]],
        ['delete', 'cli.watched', [id]],
      ],
    );
  });

  describe('health asks each node over grpc.health.v1', () => {
    const Req = new protobuf.Type('HealthCheckRequest').add(
      new protobuf.Field('service', 1, 'string'),
    );
    const Res = new protobuf.Type('HealthCheckResponse').add(
      new protobuf.Field('status', 1, 'int32'),
    );
    let server: Server;
    let address: string;
    const statuses = new Map<string, number>(); // service → ServingStatus
    let asked: string[] = [];

    before(async () => {
      server = new Server();
      server.register(
        '/grpc.health.v1.Health/Check',
        (
          call: ServerUnaryCall<{ service: string }, { status: number }>,
          cb: sendUnaryData<{ status: number }>,
        ) => {
          asked.push(call.request.service);
          const s = statuses.get(call.request.service);
          if (s === undefined) cb({ code: grpcStatus.NOT_FOUND, details: 'unknown service' });
          else cb(null, { status: s });
        },
        (res: { status: number }) => Buffer.from(Res.encode(Res.fromObject(res)).finish()),
        (bytes: Buffer) => Req.toObject(Req.decode(bytes)) as { service: string },
        'unary',
      );
      const port = await new Promise<number>((resolve, reject) =>
        server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (err, p) =>
          err ? reject(err) : resolve(p),
        ),
      );
      address = `127.0.0.1:${port}`;
      await registry.register(
        {
          name: 'cli.health',
          version: '1',
          endpoints: [],
          nodes: [{ id: 'cli.health-1', address, metadata: {} }],
        },
        { ttlMs: 60_000 },
      );
    });
    after(async () => {
      await registry.deregister({
        name: 'cli.health',
        version: '1',
        endpoints: [],
        nodes: [{ id: 'cli.health-1', address, metadata: {} }],
      });
      server?.forceShutdown();
    });

    test('SERVING → exit 0; NOT_SERVING or unknown → exit 1, each node listed', async () => {
      statuses.set('cli.health', 1);
      const ok = await runCli(['health', 'cli.health'], { env });
      assert.equal(ok.code, 0, ok.stderr);
      assert.deepEqual(JSON.parse(ok.stdout), [
        { node: 'cli.health-1', address, status: 'SERVING' },
      ]);
      assert.deepEqual(asked, ['cli.health'], 'asks for the service by its name');

      statuses.set('cli.health', 2);
      const down = await runCli(['health', 'cli.health', '-o', 'table'], { env });
      assert.equal(down.code, 1);
      assert.match(
        down.stdout,
        /^NODE\s+ADDRESS\s+STATUS\ncli\.health-1\s+127\.0\.0\.1:\d+\s+NOT_SERVING\n$/,
      );

      asked = [];
      const whole = await runCli(['health', 'cli.health', '--check', ''], { env });
      assert.equal(whole.code, 1);
      assert.equal((JSON.parse(whole.stdout) as { status: string }[])[0].status, 'SERVICE_UNKNOWN');
      assert.deepEqual(asked, [''], '--check "" asks for the whole server');
    });
  });

  test("health reads a running tsmicro service's own grpc.health.v1: SERVING", async () => {
    await using service = createService({
      name: 'cli.tsmicro-health',
      registry: localRegistry({ dir }),
      logger: quietLogger(),
      handleSignals: false,
    });
    await service.start();
    const node = service.server.node;
    assert.ok(node);
    const ok = await runCli(['health', 'cli.tsmicro-health', '-o', 'json'], { env });
    assert.equal(ok.code, 0, ok.stderr);
    assert.deepEqual(JSON.parse(ok.stdout), [
      { node: node.id, address: node.address, status: 'SERVING' },
    ]);
  });

  test('the CLI is built on the public API only', async () => {
    // Every relative import of src/cli is another CLI file, the root, or a public subpath.
    const repo = fileURLToPath(new URL('../../../', import.meta.url));
    const pkg = JSON.parse(await readFile(path.join(repo, 'package.json'), 'utf8')) as {
      exports: Record<string, string | { default: string }>;
      bin: Record<string, string>;
    };
    assert.equal(pkg.bin.tsmicro, './dist/cli/main.js');
    const publicFiles = new Set(
      Object.values(pkg.exports)
        .filter((t): t is { default: string } => typeof t === 'object')
        .map((t) =>
          path.join(repo, 'src', path.relative('./dist', t.default).replace(/\.js$/, '.ts')),
        ),
    );
    const cliDir = path.join(repo, 'src', 'cli');
    for (const file of await readdir(cliDir)) {
      const text = await readFile(path.join(cliDir, file), 'utf8');
      for (const [, spec] of text.matchAll(/from '(\.[^']+)'/g)) {
        const target = path.resolve(cliDir, spec).replace(/\.js$/, '.ts');
        assert.ok(
          path.dirname(target) === cliDir || publicFiles.has(target),
          `${file} imports ${spec}, which is not public`,
        );
      }
    }
  });
});
