import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  createService,
  localRegistry,
  registrySelector,
  type CallOptions,
} from '../../src/index.js';
import { quietLogger } from '../helpers/services.js';
import { makeTempDir } from '../helpers/tmp.js';
import { startServer } from './fleet.js';

// Adaptive attempt timeouts across processes: a node that stalls 120 s and one that answers at
// once (hedge-server). The limit is a multiple of the endpoint's observed p95 with a floor of
// 2 s: far below the stall, and far above what the fast node takes even on a loaded CI machine.
// The floor is what the verdicts rest on: when the client's own event loop stalls past the limit,
// its timer fires before the answer already waiting in its socket is read, and a fast attempt
// counts as a timeout (a 300 ms floor did, once, with two suites sharing two cores). Verdicts
// count who answered and what the selector recorded.

const ADAPTIVE: CallOptions = {
  idempotent: true,
  adaptiveAttemptTimeout: { percentile: 'p95', multiplier: 2, minMs: 2_000, maxMs: 5_000 },
  timeoutMs: 60_000,
};

test('an adaptive limit leaves a stalled node for another, and counts as a fault for ejection', async (t) => {
  await using dir = await makeTempDir('adaptive-timeout-');
  const [slow, fast] = await Promise.all(
    ['120000', '0'].map((delay) => startServer(dir.path, 'hedge-server', ['echo', delay, 'ok'])),
  );
  t.after(() => Promise.all([slow, fast].map((s) => s.fixture.kill('SIGKILL'))));
  const registry = localRegistry({ dir: dir.path });
  const selector = registrySelector({
    registry,
    strategy: 'roundRobin',
    // Ejected for longer than the test runs, so no call after the ejection reaches it.
    ejection: { afterFaults: 2, baseMs: 600_000, maxMs: 600_000 },
  });
  const service = createService({
    name: 'adaptive-client',
    registry,
    selector,
    logger: quietLogger(),
    latencyWindow: { minSamples: 5 },
  });
  t.after(async () => {
    await service.stop();
    await selector.close();
    await registry.close();
  });
  const call = (n: number, o: CallOptions) =>
    service.client.call<{ pid: number }>('echo', 'Echo.Call', { n }, { ...ADAPTIVE, ...o });

  // An empty window: the ceiling (5 s) is the limit, and the call moves on to the fast node.
  const first = await call(1, { address: [slow.address, fast.address] });
  assert.equal(first.pid, fast.fixture.pid);
  await slow.fixture.waitForLine(/^aborted 1$/, 30_000);

  // The window learns the endpoint's latency from 40 fast calls: its p95 is theirs, and the
  // limit drops to the floor.
  for (let n = 2; n < 42; n++) await call(n, { address: fast.address });
  const second = await call(42, { address: [slow.address, fast.address] });
  assert.equal(second.pid, fast.fixture.pid);
  await slow.fixture.waitForLine(/^aborted 42$/, 30_000);

  // Through the selector, in turn: every other call lands on the stalled node first, times out
  // there and is answered by the other; two such faults in a row eject it.
  for (let n = 100; n < 110; n++) assert.equal((await call(n, {})).pid, fast.fixture.pid);
  const stats = selector.stats!('echo');
  const slowStat = stats.find((s) => s.id === slow.id);
  const fastStat = stats.find((s) => s.id === fast.id);
  const onSlow = slow.fixture.lines.filter((l) => /^start 1\d\d$/.test(l)).length;
  t.diagnostic(`calls that reached the stalled node: ${onSlow}; ${JSON.stringify(slowStat)}`);
  assert.equal(onSlow, 2, 'it got calls until its second timeout, then none');
  assert.equal(slowStat!.ejections, 1, 'its timeouts ejected it');
  assert.equal(fastStat!.consecutiveFaults, 0);
});
