import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NodeStats } from '../../src/selector/node-stats.js';

// The counters behind least-request picking, on a clock the test moves.
test('in flight is picks minus marks (never negative); latency is a moving average that decays while idle', () => {
  const clock = { now: 0 };
  const stats = new NodeStats(0.5, 1_000, () => clock.now);
  stats.picked('svc', 'n');
  stats.picked('svc', 'n');
  const view = stats.view('svc');
  assert.equal(view.inflight('n'), 2);
  stats.settled('svc', 'n', 100);
  stats.settled('svc', 'n', 50);
  stats.settled('svc', 'n', undefined);
  assert.equal(view.inflight('n'), 0, 'a stray mark does not go below zero');
  assert.equal(view.latencyMs('n'), 75, 'first sample, then halfway to the second (alpha 0.5)');
  clock.now += 1_000;
  assert.ok(
    Math.abs(view.latencyMs('n')! - 75 / Math.E) < 1e-9,
    'one time constant idle: down to 1/e',
  );
  stats.prune('svc', new Set());
  assert.equal(view.latencyMs('n'), undefined, 'a node that left the registry is forgotten');
});
