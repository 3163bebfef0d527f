import { CLIENT_ERROR_ID, MicroError } from '../errors.js';
import type { Node } from '../registry/registry.js';
import type { Next, PickOptions, Strategy } from './selector.js';

/** Picks uniformly at random, avoiding excluded nodes while others remain (go-micro's default). */
export const random: Strategy = (nodes: readonly Node[]): Next => {
  return (opts?: PickOptions): Node => {
    const candidates = withoutExcluded(nodes, opts?.exclude);
    if (candidates.length === 0) throw noneAvailable();
    return candidates[Math.floor(Math.random() * candidates.length)]!;
  };
};

/** Nodes not in `exclude`; all nodes when every one of them is excluded (a retry may reuse a node). */
export function withoutExcluded(nodes: readonly Node[], exclude: ReadonlySet<string> | undefined): readonly Node[] {
  if (!exclude || exclude.size === 0) return nodes;
  const rest = nodes.filter((n) => !exclude.has(n.id));
  return rest.length > 0 ? rest : nodes;
}

function noneAvailable(): MicroError {
  return MicroError.unavailable(CLIENT_ERROR_ID, 'none available');
}
