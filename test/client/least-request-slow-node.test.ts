import { test } from 'node:test';
import assert from 'node:assert/strict';
import { makeTempDir } from '../helpers/tmp.js';
import { countByNode, load, recordingClient, startServer, type ServerProcess } from './fleet.js';

// Three server processes, one answering 10× slower (100 ms vs 10 ms; long enough that the
// client's own scheduling delay on a busy machine does not blur the difference). Least request
// (power of two
// choices on in-flight counts) sees the slow node's requests pile up and sends it far fewer;
// random, the control, sends it a third whatever its speed.
test('least request sends a 10× slower node far fewer calls than the healthy ones; random does not', async (t) => {
  await using dir = await makeTempDir('resilience-p2c-');
  const servers = await Promise.all(
    ['10', '10', '100'].map((delay) =>
      startServer(dir.path, 'resilience-server', ['echo', delay, 'ok']),
    ),
  );
  t.after(() => Promise.all(servers.map((s) => s.fixture.kill('SIGKILL'))));
  const [fastA, fastB, slow] = servers as [ServerProcess, ServerProcess, ServerProcess];

  const shares = async (
    strategy: 'leastRequest' | 'random',
  ): Promise<{ slow: number; fastA: number; fastB: number }> => {
    await using client = recordingClient(dir.path, { strategy });
    const result = await load({ concurrency: 8, durationMs: 30_000, maxCalls: 600 }, (n) =>
      client.service.client.call('echo', 'Echo.Call', { n }),
    );
    assert.equal(
      result.failed,
      0,
      `no call fails (${result.errors.slice(0, 2).map(String).join('; ')})`,
    );
    const counts = countByNode(client.attempts);
    const out = {
      slow: counts.get(slow.id) ?? 0,
      fastA: counts.get(fastA.id) ?? 0,
      fastB: counts.get(fastB.id) ?? 0,
    };
    t.diagnostic(`${strategy}: ${JSON.stringify(out)} of ${client.attempts.length} attempts`);
    return out;
  };

  const p2c = await shares('leastRequest');
  assert.ok(
    p2c.slow * 2 < Math.min(p2c.fastA, p2c.fastB),
    "least request: the slow node gets under half a healthy node's share",
  );
  assert.ok(p2c.slow > 0, 'but it is not starved: it still gets some calls');
  const rnd = await shares('random');
  assert.ok(
    rnd.slow * 2 > Math.min(rnd.fastA, rnd.fastB),
    'random (control): the slow node gets about the same share as the others',
  );
});
