import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MicroError } from '../../src/index.js';
import { makeTempDir } from '../helpers/tmp.js';
import { countByNode, load, recordingClient, startServer } from './fleet.js';

// go-micro's 2016 blacklist was removed because bad parameters blacklisted healthy nodes
// (micro/go-micro#87). Here a node answering every call with a handler error stays in rotation.
test('nodes answering every call with a business error (500, 400) are never ejected', async (t) => {
  await using dir = await makeTempDir('resilience-biz-');
  const servers = await Promise.all(
    ['ok', 'error500', 'error400'].map((mode) =>
      startServer(dir.path, 'resilience-server', ['echo', '0', mode]),
    ),
  );
  t.after(() => Promise.all(servers.map((s) => s.fixture.kill('SIGKILL'))));
  const [healthy, fails500, fails400] = servers as [
    (typeof servers)[0],
    (typeof servers)[0],
    (typeof servers)[0],
  ];
  await using client = recordingClient(dir.path, { ejection: { afterFaults: 2 } });

  const result = await load({ concurrency: 4, durationMs: 20_000, maxCalls: 300 }, (n) =>
    client.service.client.call('echo', 'Echo.Call', { n }),
  );

  const counts = countByNode(client.attempts);
  t.diagnostic(
    `attempts per node: ${JSON.stringify({ ok: counts.get(healthy.id), error500: counts.get(fails500.id), error400: counts.get(fails400.id) })}`,
  );
  assert.equal(result.ok + result.failed, 300);
  const codes = result.errors.map((e) => (MicroError.is(e) ? `${e.id}:${e.code}` : String(e)));
  assert.deepEqual(
    new Set(codes),
    new Set(['echo:500', 'echo:400']),
    "callers get the handlers' own errors",
  );
  assert.equal(
    client.attempts.length,
    300,
    'business errors are not retried on a non-idempotent call',
  );
  for (const s of [fails500, fails400]) {
    assert.ok(
      (counts.get(s.id) ?? 0) >= 50,
      `the failing node ${s.id} keeps getting its share (${counts.get(s.id)} of 300)`,
    );
  }
  for (const stat of client.selector.stats!('echo')) {
    assert.equal(stat.ejections, 0, `${stat.id} was never ejected`);
    assert.equal(stat.consecutiveFaults, 0, `${stat.id} has no transport faults counted`);
  }
});
