import { test } from 'node:test';
import assert from 'node:assert/strict';
import { makeTempDir } from '../helpers/tmp.js';
import { localRegistry } from '../../src/index.js';
import { countByNode, load, recordingClient, startServer } from './fleet.js';

// The promise of the issue: three server processes, steady idempotent load, one SIGKILLed
// mid-load. Calls caught on the dead node are retried elsewhere; the node is ejected after a few
// faults and then receives no attempts at all. The registry must not help: the local registry
// drops a dead process's entries within its 1 s sweep, so the test process takes the victim's
// entry over (rewrites it as its own) — a registry that lags, as Consul's TTL checks do.
test('a node killed mid-load costs no idempotent call, and after ejection it gets no attempts', async (t) => {
  await using dir = await makeTempDir('resilience-kill-');
  const servers = await Promise.all(
    [0, 1, 2].map(() => startServer(dir.path, 'resilience-server', ['echo', '0', 'ok'])),
  );
  t.after(() => Promise.all(servers.map((s) => s.fixture.kill('SIGKILL'))));
  await using client = recordingClient(dir.path);
  const call = (n: number): Promise<unknown> =>
    client.service.client.call('echo', 'Echo.Call', { n }, { idempotent: true, timeoutMs: 3_000 });

  // Warm up until every node has answered, so the load starts on three live channels.
  for (let i = 0; i < 200 && countByNode(client.attempts).size < 3; i++) await call(i);
  assert.equal(countByNode(client.attempts).size, 3, 'all three nodes answer before the kill');
  client.attempts.length = 0;

  const victim = servers[1];
  const holder = localRegistry({ dir: dir.path });
  t.after(() => holder.close());
  const [record] = (await holder.getService('echo')).map((s) => ({
    ...s,
    nodes: s.nodes.filter((n) => n.id === victim.id),
  }));
  await holder.register(record, { ttlMs: 0 });
  const loadMs = 6_000;
  const killAfterMs = 2_000;
  const startedAt = Date.now();
  let killedAt = 0;
  let ejectedAt = 0;
  let removedAt = 0;
  // Watches the selector's view of the victim while the load runs (bounded by the load's end).
  const watch = (async () => {
    await new Promise((r) => setTimeout(r, killAfterMs));
    killedAt = Date.now();
    victim.fixture.child.kill('SIGKILL');
    while (Date.now() < startedAt + loadMs) {
      const stat = client.selector.stats!('echo').find((s) => s.id === victim.id);
      if (!ejectedAt && stat?.ejected) ejectedAt = Date.now();
      if (!removedAt && stat === undefined) removedAt = Date.now();
      if (ejectedAt && removedAt) break;
      await new Promise((r) => setTimeout(r, 2));
    }
  })();
  const result = await load({ concurrency: 8, durationMs: loadMs, maxCalls: 200_000 }, call);
  await watch;

  const total = result.ok + result.failed;
  const successRate = result.ok / total;
  const victimAttempts = client.attempts.filter((a) => a.node === victim.id);
  const afterKill = victimAttempts.filter((a) => a.at >= killedAt);
  const grace = 100;
  const afterEjection = victimAttempts.filter((a) => a.at > ejectedAt + grace);
  t.diagnostic(
    `calls ${total}, ok ${result.ok}, failed ${result.failed}, success ${(successRate * 100).toFixed(3)} %`,
  );
  t.diagnostic(
    `attempts on the dead node after the kill: ${afterKill.length}; ejected ${ejectedAt - killedAt} ms after the kill; still listed by the registry: ${removedAt === 0}`,
  );
  t.diagnostic(
    `attempts per node: ${JSON.stringify(Object.fromEntries(countByNode(client.attempts)))}`,
  );

  assert.ok(total > 100, `the load ran (${total} calls)`);
  assert.ok(killedAt > 0 && ejectedAt >= killedAt, 'the selector ejected the dead node');
  assert.equal(
    removedAt,
    0,
    'the registry still lists the dead node: only ejection kept traffic off it',
  );
  assert.ok(
    successRate >= 0.999,
    `success rate ${successRate} (failures: ${result.errors.slice(0, 3).map(String).join('; ')})`,
  );
  assert.deepEqual(
    afterEjection.map((a) => a.at - ejectedAt),
    [],
    'no attempt reaches the dead node once it is ejected',
  );
  const [first, third] = [servers[0], servers[2]].map(
    (s) => client.attempts.filter((a) => a.node === s.id && a.at > ejectedAt).length,
  );
  assert.ok(first > 0 && third > 0, 'the survivors carry the load');
});
