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

// Adaptive attempt timeouts across processes: a node that stalls 30 s and one that answers at
// once (hedge-server). The limit is a multiple of the endpoint's observed p95 with a floor of
// 300 ms: far above what the fast node takes on a loaded machine (its loop pauses stay under
// 100 ms), far below the stall. Verdicts count who answered and what the selector recorded.

const ADAPTIVE: CallOptions = {
  idempotent: true,
  adaptiveAttemptTimeout: { percentile: 'p95', multiplier: 2, minMs: 300, maxMs: 1_000 },
  timeoutMs: 20_000,
};

test('an adaptive limit leaves a stalled node for another, and counts as a fault for ejection', async (t) => {
  await using dir = await makeTempDir('adaptive-timeout-');
  const [slow, fast] = await Promise.all(
    ['30000', '0'].map((delay) => startServer(dir.path, 'hedge-server', ['echo', delay, 'ok'])),
  );
  t.after(() => Promise.all([slow, fast].map((s) => s.fixture.kill('SIGKILL'))));
  const registry = localRegistry({ dir: dir.path });
  const selector = registrySelector({
    registry,
    strategy: 'roundRobin',
    ejection: { afterFaults: 2 },
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

  // An empty window: the ceiling (1 s) is the limit, and the call moves on to the fast node.
  const first = await call(1, { address: [slow.address, fast.address] });
  assert.equal(first.pid, fast.fixture.pid);
  await slow.fixture.waitForLine(/^aborted 1$/, 10_000);

  // The window learns the endpoint's latency from 40 fast calls: its p95 is theirs, and the
  // limit drops to the floor.
  for (let n = 2; n < 42; n++) await call(n, { address: fast.address });
  const second = await call(42, { address: [slow.address, fast.address] });
  assert.equal(second.pid, fast.fixture.pid);
  await slow.fixture.waitForLine(/^aborted 42$/, 10_000);

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
