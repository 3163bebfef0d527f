import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MicroError } from '../../src/index.js';
import { makeTempDir } from '../helpers/tmp.js';
import { recordingClient, startServer, type ServerProcess } from './fleet.js';

/** The `<event> <name> ...numbers` lines a chain hop printed. */
function events(s: ServerProcess, event: string): number[][] {
  return s.fixture.lines
    .filter((l) => l.startsWith(`${event} `))
    .map((l) => l.split(' ').slice(2).map(Number));
}

// A → B → C, each its own process; C never answers. The caller's 300 ms budget travels down the
// chain (grpc-timeout + go-micro's `timeout` metadata), so every hop gives up at the same moment.
test('a 300 ms budget across A → B → C: 408 at ~300 ms, C is aborted, nothing starts after the deadline', async (t) => {
  await using dir = await makeTempDir('resilience-chain-');
  const [a, b, c] = await Promise.all(
    [
      ['a', 'b'],
      ['b', 'c'],
      ['c', '-'],
    ].map((args) => startServer(dir.path, 'resilience-chain', args)),
  );
  t.after(() => Promise.all([a, b, c].map((s) => s.fixture.kill('SIGKILL'))));
  await using client = recordingClient(dir.path);
  // Resolve every hop and open every channel, so the timed call measures the chain, not cold
  // lookups and connects.
  await client.service.client.call('a', 'Chain.Warm', {});

  const startedAt = Date.now();
  const deadline = startedAt + 300;
  const err = await client.service.client
    .call('a', 'Chain.Run', {}, { timeoutMs: 300, idempotent: true })
    .then(
      () => assert.fail('the chain cannot succeed'),
      (e: unknown) => e,
    );
  const elapsed = Date.now() - startedAt;
  t.diagnostic(`caller failed after ${elapsed} ms`);
  assert.ok(MicroError.is(err, 408), `the caller gets 408, got ${String(err)}`);
  assert.ok(elapsed >= 295 && elapsed < 1_500, `it fails at the deadline (${elapsed} ms)`);

  const output = (): string => [a, b, c].map((s) => s.fixture.lines.join(' | ')).join('\n');
  const aborted = await c.fixture
    .waitForLine(/^aborted c (\d+)$/, 10_000)
    .catch((e: unknown) => assert.fail(`${String(e)}\n${output()}`));
  t.diagnostic(
    `C's signal aborted ${Number(aborted[1]) - deadline} ms after the caller's deadline`,
  );
  // B notices the failure once its own budget is gone; wait for its last line, then check all.
  await b.fixture.waitForLine(/^again b /, 10_000);
  // The budget travels as a relative timeout (gRPC's way), so each hop's deadline may lag the
  // caller's by the time the request spent in transit and queued (a connect on B → C's first
  // call; ~5 ms a hop when idle, ~40 ms on a loaded 2-core machine); the slack absorbs that.
  const slack = 150;
  for (const [hop, deadlineSeen] of [a, b, c].map(
    (s, i) => [['a', 'b', 'c'][i], events(s, 'start')[0]?.[1]] as const,
  )) {
    assert.ok(
      deadlineSeen !== undefined && deadlineSeen <= deadline + slack,
      `${hop}'s handler deadline ${deadlineSeen} is within the caller's ${deadline}`,
    );
    t.diagnostic(
      `${hop}'s handler deadline: caller's ${deadlineSeen - deadline >= 0 ? '+' : ''}${deadlineSeen - deadline} ms`,
    );
  }
  for (const s of [a, b]) {
    const attempts = events(s, 'attempt')
      .map(([at]) => at)
      .filter((at) => at >= startedAt);
    assert.equal(
      attempts.length,
      1,
      `one attempt downstream: no retry once the budget is spent (${s.fixture.lines.join(' | ')})`,
    );
    assert.ok(
      attempts.every((at) => at <= deadline + slack),
      'every attempt started before the deadline',
    );
  }
  assert.deepEqual(
    events(b, 'again').map(([code]) => code),
    [408],
    'a downstream call made after the deadline fails at once with 408…',
  );
  assert.equal(events(c, 'start').length, 1, '…and never reaches C');
});
