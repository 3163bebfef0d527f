import { DEFAULTS } from '../defaults.js';
import { CLIENT_ERROR_ID, MicroError } from '../errors.js';
import type { Node } from '../registry/registry.js';
import type { Next, NodeStatsView, PickOptions, Strategy } from './selector.js';

/** Picks uniformly at random, avoiding excluded nodes while others remain (go-micro's default). */
export const random: Strategy = (nodes: readonly Node[]): Next => {
  return (opts?: PickOptions): Node => {
    const candidates = withoutExcluded(nodes, opts?.exclude);
    if (candidates.length === 0) throw noneAvailable();
    return candidates[Math.floor(Math.random() * candidates.length)];
  };
};

/**
 * Takes nodes in turn. Each strategy returned keeps its own rotation, shared by every call that
 * uses it (go-micro restarts the rotation at a random node on every call, which is random in
 * effect); create one per selector.
 */
export function roundRobin(): Strategy {
  let counter = Math.floor(Math.random() * 1_000_000);
  return (nodes) => (opts) => {
    const candidates = withoutExcluded(nodes, opts?.exclude);
    if (candidates.length === 0) throw noneAvailable();
    counter = (counter + 1) % Number.MAX_SAFE_INTEGER;
    return candidates[counter % candidates.length];
  };
}

/**
 * Least request by the power of two choices: of two nodes drawn at random, the one with the lower
 * cost, `(attempts in flight + 1) × latency average` (Linkerd's and Finagle's P2C + peak EWMA);
 * on equal cost, fewer in flight. A node never measured costs 0, so new nodes get tried; a slow
 * node's average decays while it is avoided, so it is tried again later. Comparing two random
 * nodes steers traffic away from slow and loaded ones without the herding of always taking the
 * global minimum. Without stats it is random.
 */
export const leastRequest: Strategy = (nodes: readonly Node[], stats?: NodeStatsView): Next => {
  return (opts?: PickOptions): Node => {
    const candidates = withoutExcluded(nodes, opts?.exclude);
    if (candidates.length === 0) throw noneAvailable();
    const i = Math.floor(Math.random() * candidates.length);
    if (candidates.length === 1 || !stats) return candidates[i];
    // A second index distinct from the first.
    const j = (i + 1 + Math.floor(Math.random() * (candidates.length - 1))) % candidates.length;
    const a = candidates[i];
    const b = candidates[j];
    const loadA = stats.inflight(a.id);
    const loadB = stats.inflight(b.id);
    const costA = (loadA + 1) * (stats.latencyMs(a.id) ?? 0);
    const costB = (loadB + 1) * (stats.latencyMs(b.id) ?? 0);
    if (costA !== costB) return costA < costB ? a : b;
    return loadA <= loadB ? a : b;
  };
};

/**
 * Picks at random in proportion to each node's `weight` metadata (a non-negative number; missing
 * or invalid counts as `DEFAULTS.nodeWeight`). Nodes of weight 0 are picked only when every
 * candidate weighs 0.
 */
export const weighted: Strategy = (nodes: readonly Node[]): Next => {
  return (opts?: PickOptions): Node => {
    const candidates = withoutExcluded(nodes, opts?.exclude);
    if (candidates.length === 0) throw noneAvailable();
    const weights = candidates.map(nodeWeight);
    const total = weights.reduce((a, b) => a + b, 0);
    if (total <= 0) return candidates[Math.floor(Math.random() * candidates.length)];
    let r = Math.random() * total;
    for (let k = 0; k < candidates.length; k++) {
      r -= weights[k];
      if (r < 0) return candidates[k];
    }
    return candidates[candidates.length - 1];
  };
};

/** The names a selector accepts for its built-in strategies. */
export const STRATEGY_NAMES = ['random', 'roundRobin', 'leastRequest', 'weighted'] as const;

/** A built-in strategy by name: `'random'`, `'roundRobin'`, `'leastRequest'` or `'weighted'`. */
export type StrategyName = (typeof STRATEGY_NAMES)[number];

/**
 * A fresh instance of the named strategy (round robin keeps state, so each selector gets its own).
 */
export function strategyByName(name: StrategyName): Strategy {
  switch (name) {
    case 'random':
      return random;
    case 'roundRobin':
      return roundRobin();
    case 'leastRequest':
      return leastRequest;
    case 'weighted':
      return weighted;
  }
}

/** A node's `weight` metadata as a number ≥ 0. */
export function nodeWeight(node: Node): number {
  const raw = node.metadata?.weight;
  const w = raw === undefined || raw === '' ? NaN : Number(raw);
  return Number.isFinite(w) && w >= 0 ? w : DEFAULTS.nodeWeight;
}

/**
 * Nodes not in `exclude`; all nodes when every one of them is excluded (a retry may reuse a node).
 */
export function withoutExcluded(
  nodes: readonly Node[],
  exclude: ReadonlySet<string> | undefined,
): readonly Node[] {
  if (!exclude || exclude.size === 0) return nodes;
  const rest = nodes.filter((n) => !exclude.has(n.id));
  return rest.length > 0 ? rest : nodes;
}

function noneAvailable(): MicroError {
  return MicroError.unavailable(CLIENT_ERROR_ID, 'none available');
}
