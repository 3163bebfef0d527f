import { test } from 'node:test';
import assert from 'node:assert/strict';
import { leastRequest, random, roundRobin, weighted, type Node } from '../../src/index.js';
import type { NodeStatsView } from '../../src/plugin.js';

const nodes: Node[] = ['a', 'b', 'c'].map((id) => ({
  id,
  address: `127.0.0.1:${id.charCodeAt(0)}`,
  metadata: {},
}));

function tally(pick: () => Node, n: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (let i = 0; i < n; i++) {
    const id = pick().id;
    out[id] = (out[id] ?? 0) + 1;
  }
  return out;
}

test('round robin takes every node in turn, and skips nodes already tried in the call', () => {
  const next = roundRobin()(nodes);
  const first = [next(), next(), next(), next(), next(), next()].map((n) => n.id);
  assert.deepEqual(first.slice(3), first.slice(0, 3), 'a fixed rotation');
  assert.deepEqual(new Set(first.slice(0, 3)), new Set(['a', 'b', 'c']));
  for (let i = 0; i < 6; i++) assert.equal(next({ exclude: new Set(['a', 'b']) }).id, 'c');
});

test('random and the others fall back to tried nodes when every node was tried', () => {
  for (const strategy of [random, roundRobin(), leastRequest, weighted]) {
    const all = new Set(nodes.map((n) => n.id));
    assert.ok(all.has(strategy(nodes)({ exclude: all }).id));
    assert.throws(() => strategy([])(), { code: 503 });
  }
});

test('least request prefers the cheaper of two nodes: (in flight + 1) × latency', () => {
  const inflight: Record<string, number> = { a: 5, b: 0, c: 5 };
  const stats: NodeStatsView = {
    inflight: (id) => inflight[id] ?? 0,
    latencyMs: (id) => (id === 'c' ? 50 : 5),
  };
  const counts = tally(() => leastRequest(nodes, stats)(), 3_000);
  // Costs a 30, b 5, c 300: b wins every pair it is in (2/3 of pairs), a wins the a–c pair.
  assert.ok(Math.abs(counts.b / 3_000 - 2 / 3) < 0.05, `b: ${counts.b}`);
  assert.ok(Math.abs(counts.a / 3_000 - 1 / 3) < 0.05, `a: ${counts.a}`);
  assert.equal(counts.c, undefined, 'the loaded, slow node is never picked over a better one');
});

test('weighted picks in proportion to node metadata weight; a missing weight counts as 1', () => {
  const w: Node[] = [
    { id: 'heavy', address: 'x:1', metadata: { weight: '3' } },
    { id: 'plain', address: 'x:2', metadata: {} },
    { id: 'off', address: 'x:3', metadata: { weight: '0' } },
  ];
  const counts = tally(() => weighted(w)(), 4_000);
  assert.ok(Math.abs(counts.heavy / 4_000 - 0.75) < 0.04, `heavy: ${counts.heavy}`);
  assert.ok(Math.abs(counts.plain / 4_000 - 0.25) < 0.04, `plain: ${counts.plain}`);
  assert.equal(counts.off, undefined, 'weight 0 takes nothing');
});

test('least request without latencies compares in-flight counts; an unmeasured node is tried first', () => {
  const inflight: Record<string, number> = { a: 2, b: 1, c: 3 };
  const cold: NodeStatsView = { inflight: (id) => inflight[id] ?? 0, latencyMs: () => undefined };
  const counts = tally(() => leastRequest(nodes, cold)(), 3_000);
  assert.equal(counts.c, undefined, 'the most loaded node never wins a pair');
  const warm: NodeStatsView = {
    inflight: () => 0,
    latencyMs: (id) => (id === 'a' ? undefined : 10),
  };
  const firstPick = tally(() => leastRequest(nodes, warm)(), 3_000);
  assert.ok(
    Math.abs(firstPick.a / 3_000 - 2 / 3) < 0.05,
    `the new node a wins its pairs: ${firstPick.a}`,
  );
});
