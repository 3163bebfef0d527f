import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import {
  byEndpoint,
  byMetadata,
  byVersion,
  createService,
  localRegistry,
  type Registry,
  type Service,
} from '../../src/index.js';
import { currentOwner, encodeName, entryName } from '../../src/registry/local-entry.js';
import { startFixture, type Fixture } from '../helpers/processes.js';
import { makeTempDir, type TempDir } from '../helpers/tmp.js';

// Corrupt and hostile files in the local registry directory, next to one real server process:
// the caller must skip each bad entry with a log line and keep calling the real node.
let dir: TempDir;
let registry: Registry;
let server: Fixture;
let caller: Service;
let serverAddress: string;
const logLines: Record<string, unknown>[] = [];

before(async () => {
  dir = await makeTempDir('hostile-local');
  server = startFixture('greeter-server', ['greeter', '60000', '20000'], {
    TSMICRO_REGISTRY_DIR: dir.path,
    TSMICRO_LOG_LEVEL: 'silent',
  });
  serverAddress = (await server.waitForLine(/^ready \S+ (\S+)$/))[1]!;
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString().split('\n'))
        if (l) logLines.push(JSON.parse(l) as Record<string, unknown>);
      done();
    },
  });
  const logger = pino({ level: 'warn' }, sink);
  registry = localRegistry({ dir: dir.path, logger });
  caller = createService({ name: 'caller', registry, logger });
});
after(async () => {
  await server.kill('SIGKILL');
  await caller.stop();
  await registry.close();
  await dir[Symbol.asyncDispose]();
});

/**
 * Writes a raw entry file for `id` into greeter's directory (as `file`), owned by this (live)
 * process.
 */
async function plant(
  id: string,
  node: unknown,
  extra: Record<string, unknown> = {},
  file = entryName(id),
): Promise<void> {
  const entry = {
    service: { name: 'greeter', version: '', endpoints: [] },
    node,
    expiresAt: 0,
    owner: currentOwner(),
    ...extra,
  };
  await writeFile(path.join(dir.path, encodeName('greeter'), file), JSON.stringify(entry));
}

test('bad JSON, bad shapes, absurd ports and hostile values are skipped with a log line; calls keep working', async () => {
  const svcDir = path.join(dir.path, encodeName('greeter'));
  await writeFile(path.join(svcDir, 'garbage.json'), '{"service": {"name": "greeter"');
  await writeFile(path.join(svcDir, 'binary.json'), Buffer.from([0xff, 0x00, 0xfe, 0x7b]));
  await writeFile(path.join(svcDir, 'array.json'), '[1,2,3]');
  await plant('port-99999', { id: 'port-99999', address: '127.0.0.1:99999', metadata: {} });
  await plant('port-0', { id: 'port-0', address: '127.0.0.1:0', metadata: {} });
  await plant('port-neg', { id: 'port-neg', address: '127.0.0.1:-1', metadata: {} });
  await plant('no-port', { id: 'no-port', address: 'localhost', metadata: {} });
  await plant('empty-address', { id: 'empty-address', address: '', metadata: {} });
  await plant('url', { id: 'url', address: 'http://127.0.0.1:1/x', metadata: {} });
  await plant('spaces', { id: 'spaces', address: '127.0.0.1 :80', metadata: {} });
  await plant('', { id: '', address: '127.0.0.1:1', metadata: {} }, {}, 'no-id.json');
  await plant(
    'other',
    { id: 'other', address: '127.0.0.1:1', metadata: {} },
    { service: { name: 'other-service', version: '' } },
  );
  // Well-formed addresses (the real server's) with odd values around them: used, values cleaned.
  await plant('odd-metadata', {
    id: 'odd-metadata',
    address: serverAddress,
    metadata: { weight: 7, protocol: { nested: true }, tags: ['a'] },
  });
  await plant(
    'odd-endpoints',
    { id: 'odd-endpoints', address: serverAddress, metadata: {} },
    {
      service: {
        name: 'greeter',
        version: 7,
        endpoints: [null, 3, { name: 5 }, { name: 'Greeter.Hello', metadata: 'x' }],
      },
    },
  );
  await plant(
    'proto-pollution',
    JSON.parse(
      `{"id":"proto-pollution","address":"${serverAddress}","metadata":{"__proto__":{"polluted":"yes"}}}`,
    ),
  );

  // The filters read versions, metadata and endpoints of every node: none may throw.
  for (const filters of [
    [],
    [byVersion('1.0.0')],
    [byMetadata('protocol', 'grpc')],
    [byEndpoint('Greeter.Hello')],
  ]) {
    await caller.client
      .call('greeter', 'Greeter.Hello', { name: 'x' }, { filters })
      .catch(() => undefined);
  }
  let ok = 0;
  for (let i = 0; i < 60; i++) {
    const rsp = await caller.client.call<{ pid: number }>(
      'greeter',
      'Greeter.Hello',
      { name: `n${i}` },
      { idempotent: true, retries: 4 },
    );
    assert.equal(rsp.pid, server.pid);
    ok++;
  }
  assert.equal(ok, 60);
  assert.equal(({} as Record<string, unknown>).polluted, undefined, 'no prototype pollution');
  // One log line per skipped node, naming it and why.
  const skipped = logLines.filter((l) => l.msg === 'registry entry skipped');
  for (const id of [
    'port-99999',
    'port-0',
    'port-neg',
    'no-port',
    'empty-address',
    'url',
    'spaces',
  ]) {
    assert.ok(
      skipped.some((l) => l.node === id && /address/.test(String(l.reason))),
      `no log line for ${id}: ${JSON.stringify(skipped)}`,
    );
  }
  // Files that are no entry at all, or sit where their names do not put them, are the registry's to
  // report.
  const files = logLines
    .filter((l) => l.msg === 'local registry entry skipped')
    .map((l) => path.basename(String(l.file)));
  for (const f of ['garbage.json', 'binary.json', 'array.json', 'no-id.json', entryName('other')])
    assert.ok(files.includes(f), `${f} not logged: ${JSON.stringify(files)}`);
  assert.equal(files.length, new Set(files).size, 'each file logged once');
  // Logged once per node, not once per call.
  const perNode = new Map<unknown, number>();
  for (const l of skipped) perNode.set(l.node, (perNode.get(l.node) ?? 0) + 1);
  for (const [id, n] of perNode) assert.equal(n, 1, `${String(id)} logged ${n} times`);
});
