import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  createService,
  localRegistry,
  MicroError,
  type Registry,
  type Service,
} from '../../src/index.js';
import { startFixture, type Fixture } from '../helpers/processes.js';
import { quietLogger } from '../helpers/services.js';
import { makeTempDir, type TempDir } from '../helpers/tmp.js';

// Server and client are separate processes that share nothing but the service name and the
// local registry directory (the embedded default, no server).
let dir: TempDir;
let registry: Registry;
let caller: Service;
const running: Fixture[] = [];

function startGreeter(name: string, ttlMs = 60_000): Fixture {
  const f = startFixture('greeter-server', [name, String(ttlMs), String(Math.floor(ttlMs / 3))], {
    TSMICRO_REGISTRY_DIR: dir.path,
    TSMICRO_LOG_LEVEL: 'warn',
  });
  running.push(f);
  return f;
}

async function ready(f: Fixture): Promise<{ id: string; address: string }> {
  const m = await f.waitForLine(/^ready (\S+) (\S+)$/);
  return { id: m[1], address: m[2] };
}

async function nodeIds(name: string): Promise<string[]> {
  return (await registry.getService(name)).flatMap((s) => s.nodes.map((n) => n.id));
}

async function hello(service: string, who: string): Promise<{ msg: string; pid: number }> {
  return caller.client.call<{ msg: string; pid: number }>(service, 'Greeter.Hello', { name: who });
}

/** Calls until one succeeds (bounded), for the moments a node is coming up. */
async function firstSuccess(service: string, withinMs: number): Promise<{ pid: number }> {
  const end = Date.now() + withinMs;
  let last: unknown;
  while (Date.now() < end) {
    try {
      return await hello(service, 'again');
    } catch (err) {
      last = err;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  throw last;
}

before(async () => {
  dir = await makeTempDir('discovery');
  registry = localRegistry({ dir: dir.path });
  caller = createService({ name: 'caller', registry, logger: quietLogger() });
});
after(async () => {
  await Promise.allSettled(running.map((f) => f.kill('SIGKILL')));
  await caller.stop();
  await registry.close();
  await dir[Symbol.asyncDispose]();
});

test('a client process finds a server process by name and completes 1,000 calls', async () => {
  const server = startGreeter('greeter-a');
  await ready(server);
  let ok = 0;
  for (let batch = 0; batch < 20; batch++) {
    const replies = await Promise.all(
      Array.from({ length: 50 }, (_, i) => hello('greeter-a', `n${batch * 50 + i}`)),
    );
    for (const r of replies) {
      assert.equal(r.pid, server.pid);
      ok++;
    }
  }
  assert.equal(ok, 1000);
  assert.equal((await hello('greeter-a', 'Ada')).msg, 'Hello Ada');
});

test('the client survives its server being killed and restarted on a new port', async () => {
  const first = startGreeter('greeter-b');
  const a = await ready(first);
  assert.equal((await hello('greeter-b', 'x')).pid, first.pid);
  await first.kill('SIGKILL');
  const second = startGreeter('greeter-b');
  const b = await ready(second);
  assert.notEqual(b.address, a.address);
  assert.equal((await firstSuccess('greeter-b', 5000)).pid, second.pid);
  for (let i = 0; i < 100; i++)
    assert.equal((await hello('greeter-b', `after${i}`)).pid, second.pid);
});

test('a SIGKILLed server disappears from getService well within its TTL', async () => {
  const server = startGreeter('greeter-c', 60_000);
  const { id } = await ready(server);
  assert.deepEqual(await nodeIds('greeter-c'), [id]);
  const killedAt = Date.now();
  await server.kill('SIGKILL');
  assert.deepEqual(await nodeIds('greeter-c'), [], 'the dead owner process is noticed at once');
  assert.ok(Date.now() - killedAt < 60_000);
  const err = await hello('greeter-c', 'x').then(
    () => undefined,
    (e: unknown) => e,
  );
  assert.ok(MicroError.is(err, 503), `no node left → 503, got ${String(err)}`);
});

test('a server stopped with SIGTERM deregisters before it exits', async () => {
  const server = startGreeter('greeter-d');
  const { id } = await ready(server);
  assert.deepEqual(await nodeIds('greeter-d'), [id]);
  assert.equal(await server.kill('SIGTERM'), 0, 'a graceful stop exits cleanly');
  assert.ok(server.lines.includes('stopped'));
  assert.deepEqual(await nodeIds('greeter-d'), []);
});
