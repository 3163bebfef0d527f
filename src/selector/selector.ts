import type { Node, Service } from '../registry/registry.js';

/**
 * Selectors choose a node for each attempt of a call. They read the registry (through a cache),
 * apply filters, pick with a strategy, and learn from `mark()` which nodes are failing.
 */

/** Keeps the services (versions) and nodes a call may use. */
export type Filter = (services: Service[]) => Service[];

/** Options for {@link Selector.select}. */
export interface SelectOptions {
  /** Applied in order after the registry lookup. */
  filters?: readonly Filter[];
}

/** Options for one {@link Next} pick. */
export interface PickOptions {
  /** Node ids to avoid (already tried in this call) as long as others remain. */
  exclude?: ReadonlySet<string>;
}

/** Picks a node for one attempt. Throws a 503 MicroError when no node is available. */
export type Next = (opts?: PickOptions) => Node;

/** Builds a picker over a list of nodes. */
export type Strategy = (nodes: readonly Node[]) => Next;

/** Chooses nodes for calls. */
export interface Selector {
  /**
   * Resolves `service` to its current nodes and returns a picker. Rejects with a 503 MicroError
   * naming the service when it has no nodes.
   */
  select(service: string, opts?: SelectOptions): Promise<Next>;
  /**
   * Reports the outcome of an attempt on `node`: `err` undefined for success. Only transport
   * faults (see {@link TransportFault}) count against a node; handler errors never do.
   */
  mark(service: string, node: Node, err?: unknown): void;
  /** Forgets what was learned about `service`'s nodes. */
  reset(service: string): void;
  /** Stops watches and timers. */
  close(): Promise<void>;
}
