import assert from 'node:assert/strict';
import { rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { createService, localRegistry, type Registry, type Service } from '../../src/index.js';
import { grpcHealthClient, httpGet, type GrpcHealthClient } from '../helpers/health-probes.js';
import { startFixture, type Fixture } from '../helpers/processes.js';
import { quietLogger } from '../helpers/services.js';
import { makeTempDir, type TempDir } from '../helpers/tmp.js';
import { waitFor } from '../helpers/wait.js';

// Two nodes of one service, each its own process, on the default (local, cross-process)
// registry and the default transport; this process calls them under load while one node's
// critical check fails and recovers, and probes that node as outsiders do.

const NAME = 'health.fleet';
/** Bounds of the load: whichever comes first ends it. */
const MAX_CALLS = 40_000;
const MAX_LOAD_MS = 60_000;
const WORKERS = 4;

interface Node {
  fixture: Fixture;
  id: string;
  grpc: string;
  http: string;
  flag: string;
}

let dir: TempDir;
let registry: Registry;
let caller: Service;
let a: Node;
let b: Node;
let probe: GrpcHealthClient;

async function startNode(label: string): Promise<Node> {
  const flag = path.join(dir.path, `${label}.down`);
  const fixture = startFixture('health-node', [NAME, flag], {
    TSMICRO_REGISTRY_DIR: dir.path,
    TSMICRO_LOG_LEVEL: 'error',
  });
  const m = await fixture.waitForLine(/^ready (\S+) (\S+) (\S+)$/);
  return { fixture, id: m[1], grpc: m[2], http: m[3], flag };
}

async function listed(): Promise<string[]> {
  return (await registry.getService(NAME)).flatMap((s) => s.nodes.map((n) => n.id)).sort();
}

before(async () => {
  dir = await makeTempDir('health-fleet');
  registry = localRegistry({ dir: dir.path });
  [a, b] = await Promise.all([startNode('a'), startNode('b')]);
  caller = createService({ name: 'fleet.caller', registry, logger: quietLogger() });
  probe = grpcHealthClient(a.grpc);
});
after(async () => {
  probe?.close();
  await caller?.stop();
  await Promise.allSettled([a?.fixture.kill('SIGTERM'), b?.fixture.kill('SIGTERM')]);
  await registry?.close();
  await dir?.[Symbol.asyncDispose]();
});

test('a node whose critical check fails goes NOT_SERVING/503 and leaves the registry; under load no call fails, calls move to the other node, and recovery brings it back', async (t) => {
  assert.equal(await probe.check(''), 'SERVING');
  assert.equal((await httpGet(a.http, '/health/ready')).code, 200);
  await waitFor(async () => (await listed()).length === 2, 10_000, 'both nodes listed');
  const pidA = a.fixture.pid;
  const pidB = b.fixture.pid;

  // The load: WORKERS callers in a loop, each call recorded as the pid that answered or an error.
  const answeredBy: number[] = [];
  const failures: unknown[] = [];
  let stop = false;
  const loadEnds = Date.now() + MAX_LOAD_MS;
  let sent = 0;
  const worker = async (): Promise<void> => {
    while (!stop && sent < MAX_CALLS && Date.now() < loadEnds) {
      const n = sent++;
      try {
        const rsp = await caller.client.call<{ n: number; pid: number }>(NAME, 'Greeter.Hello', {
          n,
        });
        assert.equal(rsp.n, n);
        answeredBy.push(rsp.pid);
      } catch (err) {
        failures.push(err);
      }
    }
  };
  const load = Promise.all(Array.from({ length: WORKERS }, worker));
  const lastAll = (pid: number, count: number): boolean =>
    answeredBy.slice(-count).every((p) => p === pid);
  const state = (): string =>
    `calls=${answeredBy.length} failures=${failures.length} last=${answeredBy.slice(-5).join(',')}`;
  try {
    await waitFor(() => answeredBy.includes(pidA) && answeredBy.includes(pidB), 20_000, state);

    // A turns not ready.
    await writeFile(a.flag, 'down');
    await waitFor(async () => (await probe.check('')) === 'NOT_SERVING', 10_000, 'NOT_SERVING');
    const down = await httpGet(a.http, '/health/ready');
    assert.equal(down.code, 503);
    assert.deepEqual(
      (down.body.checks as { name: string; status: string }[]).find((c) => c.name === 'flag')
        ?.status,
      'down',
    );
    await waitFor(async () => (await listed()).join() === b.id, 10_000, 'only B listed');
    // 200 calls made after A left, all answered by B.
    const left = answeredBy.length;
    await waitFor(
      () => answeredBy.length >= left + 200 && lastAll(pidB, 200),
      20_000,
      () => `calls to move to B: ${state()}`,
    );

    // A recovers.
    await rm(a.flag);
    await waitFor(async () => (await probe.check('')) === 'SERVING', 10_000, 'SERVING again');
    assert.equal((await httpGet(a.http, '/health/ready')).code, 200);
    await waitFor(async () => (await listed()).length === 2, 10_000, 'A listed again');
    const afterRecovery = answeredBy.length;
    await waitFor(
      () => answeredBy.slice(afterRecovery).includes(pidA),
      20_000,
      () => `calls to reach A again: ${state()}`,
    );
  } finally {
    stop = true;
    await load;
  }
  assert.deepEqual(failures, [], `no call failed (${state()})`);
  assert.ok(answeredBy.length > 200, state());
  t.diagnostic(state());
});
