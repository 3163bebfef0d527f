import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readFileSync } from 'node:fs';
import { chmod, mkdir, readdir, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { InvalidOptionError, MicroError } from '../../src/errors.js';
import { localRegistry } from '../../src/registry/local.js';
import type { Node, Service, WatchEvent, Watcher } from '../../src/registry/registry.js';
import { startFixture } from '../helpers/processes.js';
import { makeTempDir } from '../helpers/tmp.js';

function node(id: string, metadata: Record<string, string> = {}): Node {
  return { id, address: '127.0.0.1:9000', metadata };
}

function svc(name: string, version: string, ...nodes: Node[]): Service {
  return {
    name,
    version,
    metadata: { team: 'a' },
    endpoints: [{ name: 'Greeter.Hello', metadata: {} }],
    nodes,
  };
}

/** The watcher's next event, failing after `ms` rather than hanging the test. */
async function nextEvent(watcher: Watcher, ms = 3_000): Promise<WatchEvent> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no watch event within ${ms} ms`)), ms);
  });
  try {
    const r = await Promise.race([watcher[Symbol.asyncIterator]().next(), timeout]);
    assert.equal(r.done, false, 'watcher ended');
    return r.value;
  } finally {
    clearTimeout(timer);
  }
}

function summary(e: WatchEvent): [string, string, string, string[]] {
  return [e.action, e.service.name, e.service.version, e.service.nodes.map((n) => n.id)];
}

async function nodeIds(reg: ReturnType<typeof localRegistry>, name: string): Promise<string[]> {
  return (await reg.getService(name)).flatMap((s) => s.nodes.map((n) => n.id)).sort();
}

/** Writes an entry file by hand, as another (possibly dead or remote) process would have. */
async function plantEntry(
  dir: string,
  name: string,
  id: string,
  owner: Record<string, unknown>,
  expiresAt = 0,
): Promise<string> {
  const file = path.join(dir, encodeURIComponent(name), `${encodeURIComponent(id)}.json`);
  await mkdir(path.dirname(file), { recursive: true });
  const { nodes, ...service } = svc(name, '1.0.0');
  void nodes;
  await writeFile(file, JSON.stringify({ service, node: node(id), expiresAt, owner }));
  return file;
}

/** The pid of a process that has exited. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '']);
  await once(child, 'exit');
  return child.pid!;
}

test("two registry instances on one directory see each other's nodes", async () => {
  await using tmp = await makeTempDir();
  const a = localRegistry({ dir: tmp.path });
  const b = localRegistry({ dir: tmp.path });
  await a.register(svc('greeter', '1.0.0', node('g-a')), { ttlMs: 60_000 });
  await b.register(svc('greeter', '2.0.0', node('g-b')), { ttlMs: 60_000 });
  const seen = await a.getService('greeter');
  assert.deepEqual(seen.map((s) => [s.version, s.nodes.map((n) => n.id)]).sort(), [
    ['1.0.0', ['g-a']],
    ['2.0.0', ['g-b']],
  ]);
  assert.deepEqual(
    seen.find((s) => s.version === '1.0.0'),
    svc('greeter', '1.0.0', node('g-a')),
  );
  assert.deepEqual((await b.listServices()).map((s) => `${s.name}@${s.version}`).sort(), [
    'greeter@1.0.0',
    'greeter@2.0.0',
  ]);
  assert.deepEqual(await b.getService('unknown'), []);
  await a.close();
  await b.close();
});

test('entries live in <dir>/<service>/<node id>.json with owner and expiry, and no temp file is left behind', async () => {
  await using tmp = await makeTempDir();
  const reg = localRegistry({ dir: tmp.path });
  const before = Date.now();
  await reg.register(svc('greeter', '1.0.0', node('g-1')), { ttlMs: 60_000 });
  assert.deepEqual(await readdir(path.join(tmp.path, 'greeter')), ['g-1.json']);
  const entry = JSON.parse(readFileSync(path.join(tmp.path, 'greeter', 'g-1.json'), 'utf8')) as {
    node: unknown;
    service: { name: string };
    expiresAt: number;
    owner: { pid: number; host: string };
  };
  assert.deepEqual(entry.node, node('g-1'));
  assert.equal(entry.service.name, 'greeter');
  assert.ok(entry.expiresAt >= before + 60_000 && entry.expiresAt <= Date.now() + 60_000);
  assert.equal(entry.owner.pid, process.pid);
  assert.equal(entry.owner.host, os.hostname());
  await reg.close();
});

test('names that are unsafe as file names stay inside their own service directory', async () => {
  await using tmp = await makeTempDir();
  const reg = localRegistry({ dir: tmp.path });
  const names = ['../escape', '.hidden', 'a/b', '..', 'x'.repeat(300)];
  for (const name of names) await reg.register(svc(name, '1', node(`${name}/node/../..`)));
  for (const name of names) assert.deepEqual(await nodeIds(reg, name), [`${name}/node/../..`]);
  assert.equal((await reg.listServices()).length, names.length);
  assert.deepEqual(
    (await readdir(path.dirname(tmp.path))).filter((f) => f === 'escape'),
    [],
  );
  await reg.close();
});

test('a corrupt, partial or foreign file in the directory is skipped', async () => {
  await using tmp = await makeTempDir();
  const reg = localRegistry({ dir: tmp.path });
  await reg.register(svc('greeter', '1.0.0', node('good')));
  const dir = path.join(tmp.path, 'greeter');
  await writeFile(path.join(dir, 'garbage.json'), '{"service": {"name": "greeter", "vers');
  await writeFile(
    path.join(dir, 'wrong-shape.json'),
    JSON.stringify({ service: 'greeter', node: 1 }),
  );
  await writeFile(
    path.join(dir, 'bad-pid.json'),
    JSON.stringify({
      ...JSON.parse(readFileSync(path.join(dir, 'good.json'), 'utf8')),
      owner: { host: os.hostname(), pid: -1 },
    }),
  );
  await writeFile(path.join(dir, '.good.json.123.abc.tmp'), '{"half": ');
  await writeFile(path.join(dir, 'notes.txt'), 'hello');
  assert.deepEqual(await nodeIds(reg, 'greeter'), ['good']);
  await using watcher = reg.watch({ service: 'greeter' });
  await writeFile(path.join(dir, 'garbage2.json'), '');
  await reg.register(svc('greeter', '1.0.0', node('later')));
  assert.deepEqual(summary(await nextEvent(watcher)), ['create', 'greeter', '1.0.0', ['later']]);
  await reg.close();
});

test('readers never see a half-written entry while it is rewritten', async () => {
  await using tmp = await makeTempDir();
  const writer = localRegistry({ dir: tmp.path });
  const reader = localRegistry({ dir: tmp.path });
  const big = { blob: 'x'.repeat(64 * 1024) };
  await writer.register(svc('greeter', '1', node('a', big)));
  for (let i = 0; i < 100; i++) {
    const [, found] = await Promise.all([
      writer.register(svc('greeter', '1', node('a', { ...big, i: String(i) }))),
      reader.getService('greeter'),
    ]);
    assert.equal(found[0]?.nodes.length, 1, `round ${i}`);
  }
  assert.deepEqual(await readdir(path.join(tmp.path, 'greeter')), ['a.json']);
  await writer.close();
  await reader.close();
});

test('a deregistered node disappears at once for every instance', async () => {
  await using tmp = await makeTempDir();
  const a = localRegistry({ dir: tmp.path });
  const b = localRegistry({ dir: tmp.path });
  await a.register(svc('greeter', '1.0.0', node('g-1'), node('g-2')), { ttlMs: 60_000 });
  await a.deregister(svc('greeter', '1.0.0', node('g-1')));
  assert.deepEqual(await nodeIds(b, 'greeter'), ['g-2']);
  await b.deregister(svc('greeter', '1.0.0', node('g-2'), node('never-registered')));
  assert.deepEqual(await b.getService('greeter'), []);
  await a.close();
  await b.close();
});

test('an expired entry is not returned and a watcher reports its delete from the sweep', async () => {
  await using tmp = await makeTempDir();
  const reg = localRegistry({ dir: tmp.path, sweepMs: 20 });
  await reg.register(svc('greeter', '1.0.0', node('short')), { ttlMs: 150 });
  await reg.register(svc('greeter', '1.0.0', node('long')), { ttlMs: 60_000 });
  await using watcher = reg.watch({ service: 'greeter' });
  assert.deepEqual(await nodeIds(reg, 'greeter'), ['long', 'short']);
  assert.deepEqual(summary(await nextEvent(watcher)), ['delete', 'greeter', '1.0.0', ['short']]);
  assert.deepEqual(await nodeIds(reg, 'greeter'), ['long']);
  await reg.close();
});

test('watch reports create, update and delete made by another instance', async () => {
  await using tmp = await makeTempDir();
  const watching = localRegistry({ dir: tmp.path, sweepMs: 60_000 }); // fs events alone must suffice
  const other = localRegistry({ dir: tmp.path });
  await using watcher = watching.watch({ service: 'greeter' });
  await other.register(svc('greeter', '1.0.0', node('g-1', { weight: '1' })), { ttlMs: 60_000 });
  const created = await nextEvent(watcher);
  assert.deepEqual(summary(created), ['create', 'greeter', '1.0.0', ['g-1']]);
  assert.deepEqual(created.service, svc('greeter', '1.0.0', node('g-1', { weight: '1' })));
  await other.register(svc('greeter', '1.0.0', node('g-1', { weight: '1' })), { ttlMs: 60_000 }); // renewal: silent
  await other.register(svc('greeter', '1.0.0', node('g-1', { weight: '7' })), { ttlMs: 60_000 });
  const updated = await nextEvent(watcher);
  assert.deepEqual(summary(updated), ['update', 'greeter', '1.0.0', ['g-1']]);
  assert.equal(updated.service.nodes[0].metadata.weight, '7');
  await other.deregister(svc('greeter', '1.0.0', node('g-1')));
  assert.deepEqual(summary(await nextEvent(watcher)), ['delete', 'greeter', '1.0.0', ['g-1']]);
  await watching.close();
  await other.close();
});

test('a TTL renewal with unchanged content emits nothing', async () => {
  await using tmp = await makeTempDir();
  const reg = localRegistry({ dir: tmp.path, sweepMs: 10 });
  await reg.register(svc('greeter', '1', node('a')), { ttlMs: 60_000 });
  await using watcher = reg.watch();
  for (let i = 0; i < 5; i++) await reg.register(svc('greeter', '1', node('a')), { ttlMs: 60_000 });
  await reg.register(svc('marker', '1', node('m')));
  assert.deepEqual(summary(await nextEvent(watcher)), ['create', 'marker', '1', ['m']]);
  await reg.close();
});

test('a version change is reported as a delete from the old version, then a create in the new', async () => {
  await using tmp = await makeTempDir();
  const reg = localRegistry({ dir: tmp.path });
  await reg.register(svc('greeter', '1.0.0', node('a')));
  await using watcher = reg.watch({ service: 'greeter' });
  await reg.register(svc('greeter', '2.0.0', node('a')));
  assert.deepEqual(summary(await nextEvent(watcher)), ['delete', 'greeter', '1.0.0', ['a']]);
  assert.deepEqual(summary(await nextEvent(watcher)), ['create', 'greeter', '2.0.0', ['a']]);
  await reg.close();
});

test('watching every service reports services whose directory appears after the watch started', async () => {
  await using tmp = await makeTempDir();
  const dir = path.join(tmp.path, 'not', 'yet');
  const reg = localRegistry({ dir, sweepMs: 60_000 });
  await using watcher = reg.watch();
  assert.ok(existsSync(dir), 'watch creates the directory');
  await reg.register(svc('first', '1', node('f')));
  assert.deepEqual(summary(await nextEvent(watcher)), ['create', 'first', '1', ['f']]);
  await reg.register(svc('first', '1', node('f2')));
  assert.deepEqual(summary(await nextEvent(watcher)), ['create', 'first', '1', ['f2']]);
  await reg.register(svc('second', '1', node('s')));
  assert.deepEqual(summary(await nextEvent(watcher)), ['create', 'second', '1', ['s']]);
  await reg.close();
});

test('a watch keeps working after its directory is deleted from under it', async () => {
  await using tmp = await makeTempDir();
  const reg = localRegistry({ dir: tmp.path, sweepMs: 50 });
  await reg.register(svc('greeter', '1', node('a')));
  await using watcher = reg.watch({ service: 'greeter' });
  await rm(path.join(tmp.path, 'greeter'), { recursive: true });
  assert.deepEqual(summary(await nextEvent(watcher)), ['delete', 'greeter', '1', ['a']]);
  await reg.register(svc('greeter', '1', node('b')));
  assert.deepEqual(summary(await nextEvent(watcher)), ['create', 'greeter', '1', ['b']]);
  await reg.close();
});

test('an entry whose owner process has exited is ignored at once and removed', async () => {
  await using tmp = await makeTempDir();
  const reg = localRegistry({ dir: tmp.path });
  const file = await plantEntry(
    tmp.path,
    'greeter',
    'orphan',
    { host: os.hostname(), pid: await deadPid() },
    Date.now() + 60_000,
  );
  assert.deepEqual(await reg.getService('greeter'), []);
  assert.equal(existsSync(file), false);
  await reg.close();
});

test(
  'an entry whose pid now belongs to another process (start time differs) counts as dead',
  { skip: !existsSync('/proc/self/stat') && 'no /proc' },
  async () => {
    await using tmp = await makeTempDir();
    const reg = localRegistry({ dir: tmp.path });
    const stat = readFileSync('/proc/self/stat', 'utf8');
    const ownStart = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]); // field 22: start time
    await plantEntry(tmp.path, 'greeter', 'reused', {
      host: os.hostname(),
      pid: process.pid,
      startTime: ownStart - 1,
    });
    await plantEntry(tmp.path, 'greeter', 'same', {
      host: os.hostname(),
      pid: process.pid,
      startTime: ownStart,
    });
    assert.deepEqual(await nodeIds(reg, 'greeter'), ['same']);
    await reg.close();
  },
);

test('an entry from another host is kept while its TTL runs, whatever its pid', async () => {
  await using tmp = await makeTempDir();
  const reg = localRegistry({ dir: tmp.path });
  const pid = await deadPid();
  await plantEntry(
    tmp.path,
    'greeter',
    'remote',
    { host: `${os.hostname()}-elsewhere`, pid },
    Date.now() + 60_000,
  );
  await plantEntry(
    tmp.path,
    'greeter',
    'remote-expired',
    { host: `${os.hostname()}-elsewhere`, pid },
    Date.now() - 1,
  );
  assert.deepEqual(await nodeIds(reg, 'greeter'), ['remote']);
  await reg.close();
});

test("a SIGKILLed process's node vanishes at once for getService and watchers get its delete", async () => {
  await using tmp = await makeTempDir();
  const reg = localRegistry({ dir: tmp.path });
  await using holder = startFixture('registry-holder', [tmp.path, 'greeter', 'held-1', '60000']);
  await holder.waitForLine(/^registered held-1$/);
  assert.deepEqual(await nodeIds(reg, 'greeter'), ['held-1']);
  await using watcher = reg.watch({ service: 'greeter' });
  await holder.kill('SIGKILL');
  const killedAt = Date.now();
  assert.deepEqual(await nodeIds(reg, 'greeter'), [], 'gone well within the 60 s TTL');
  assert.ok(Date.now() - killedAt < 2_000);
  assert.deepEqual(summary(await nextEvent(watcher, 5_000)), [
    'delete',
    'greeter',
    '1.0.0',
    ['held-1'],
  ]);
  await reg.close();
});

test('a process that stops cleanly deregisters: its entry file is gone when it exits', async () => {
  await using tmp = await makeTempDir();
  const reg = localRegistry({ dir: tmp.path });
  await using holder = startFixture('registry-holder', [tmp.path, 'greeter', 'held-2', '60000']);
  await holder.waitForLine(/^registered held-2$/);
  await using watcher = reg.watch({ service: 'greeter' });
  assert.equal(await holder.kill('SIGTERM'), 0);
  assert.equal(existsSync(path.join(tmp.path, 'greeter', 'held-2.json')), false);
  assert.deepEqual(summary(await nextEvent(watcher)), ['delete', 'greeter', '1.0.0', ['held-2']]);
  await reg.close();
});

test('the directory defaults to TSMICRO_REGISTRY_DIR', async () => {
  await using tmp = await makeTempDir();
  const saved = process.env.TSMICRO_REGISTRY_DIR;
  process.env.TSMICRO_REGISTRY_DIR = tmp.path;
  try {
    const reg = localRegistry();
    await reg.register(svc('greeter', '1', node('env')));
    assert.ok(existsSync(path.join(tmp.path, 'greeter', 'env.json')));
    await reg.close();
  } finally {
    if (saved === undefined) delete process.env.TSMICRO_REGISTRY_DIR;
    else process.env.TSMICRO_REGISTRY_DIR = saved;
  }
});

test(
  'without dir or TSMICRO_REGISTRY_DIR the directory is a private per-user one under the OS temp dir',
  { skip: process.getuid === undefined && 'no uids here' },
  async () => {
    await using tmp = await makeTempDir();
    const saved = { dir: process.env.TSMICRO_REGISTRY_DIR, tmpdir: process.env.TMPDIR };
    delete process.env.TSMICRO_REGISTRY_DIR;
    process.env.TMPDIR = tmp.path; // os.tmpdir() reads it on every call
    try {
      const userDir = path.join(tmp.path, `tsmicro-${os.userInfo().uid}`);
      await mkdir(userDir, { mode: 0o777 });
      await chmod(userDir, 0o777); // as if another tool had loosened it
      const reg = localRegistry();
      await reg.register(svc('greeter', '1', node('default')));
      assert.ok(existsSync(path.join(userDir, 'registry', 'greeter', 'default.json')));
      assert.equal((await stat(userDir)).mode & 0o777, 0o700);
      assert.equal((await stat(path.join(userDir, 'registry'))).mode & 0o777, 0o700);
      await reg.close();
    } finally {
      for (const [key, value] of [
        ['TSMICRO_REGISTRY_DIR', saved.dir],
        ['TMPDIR', saved.tmpdir],
      ] as const) {
        if (value === undefined) delete process.env[key];
        else process.env[key] = value;
      }
    }
  },
);

test('close() ends watchers and later calls reject with 503', async () => {
  await using tmp = await makeTempDir();
  const reg = localRegistry({ dir: tmp.path });
  const watcher = reg.watch();
  const pending = watcher[Symbol.asyncIterator]().next();
  await reg.close();
  assert.deepEqual(await pending, { value: undefined, done: true });
  await assert.rejects(reg.getService('greeter'), (err: unknown) => MicroError.is(err, 503));
  await assert.rejects(reg.register(svc('greeter', '1', node('a'))), (err: unknown) =>
    MicroError.is(err, 503),
  );
});

test('bad options throw InvalidOptionError naming the option', () => {
  const rejects = (opts: object, option: string): void => {
    assert.throws(
      () => localRegistry(opts),
      (err: unknown) => err instanceof InvalidOptionError && err.option === option,
    );
  };
  rejects({ dir: '' }, 'dir');
  rejects({ dir: 42 }, 'dir');
  rejects({ sweepMs: 0 }, 'sweepMs');
  rejects({ sweepMs: -5 }, 'sweepMs');
  rejects({ sweepMs: '100' }, 'sweepMs');
  rejects({ sweepMs: Number.NaN }, 'sweepMs');
  assert.equal(localRegistry({ dir: os.tmpdir(), sweepMs: 0.5 }).name, 'local');
});
