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

/**
 * What a selector has measured about a service's nodes, as strategies read it. Cheap to query:
 * counters kept per node as attempts start ({@link Next}) and end ({@link Selector.mark}).
 */
export interface NodeStatsView {
  /** Attempts on `nodeId` started and not yet marked. */
  inflight(nodeId: string): number;
  /**
   * Moving average of the node's attempt latency, ms; undefined before its first marked attempt.
   */
  latencyMs(nodeId: string): number | undefined;
}

/**
 * Builds a picker over a list of nodes. `stats` is given by selectors that keep them (the
 * default one does); strategies that need none ignore it, so go-micro-style `(nodes) => Next`
 * functions are strategies too.
 */
export type Strategy = (nodes: readonly Node[], stats?: NodeStatsView) => Next;

/** A node of a service as the selector sees it now: its load, latency and health. */
export interface NodeStat {
  readonly id: string;
  readonly address: string;
  /** Attempts in flight on this node from this selector's client. */
  readonly inflight: number;
  /** Moving average of attempt latency, ms; undefined before the first attempt ended. */
  readonly latencyMs: number | undefined;
  /** Transport faults in a row (reset by any answer from the node). */
  readonly consecutiveFaults: number;
  /** True while the node is ejected: it gets attempts only when no other node is left. */
  readonly ejected: boolean;
  /** When the current ejection ends, epoch ms; undefined when not ejected. */
  readonly ejectedUntil: number | undefined;
  /** Times this node has been ejected; each ejection lasts twice as long as the previous one. */
  readonly ejections: number;
}

/** Chooses nodes for calls. */
export interface Selector {
  /**
   * Resolves `service` to its current nodes and returns a picker. Rejects with a 503 MicroError
   * naming the service when it has no nodes.
   */
  select(service: string, opts?: SelectOptions): Promise<Next>;
  /**
   * What {@link select} would return, answered from memory with no I/O and no waiting, or
   * undefined when a registry lookup is needed. Optional: the client tries it first, since most
   * calls hit a warm cache and an awaited lookup costs a promise and a deadline timer per call.
   * Throws as `select` rejects.
   */
  selectCached?(service: string, opts?: SelectOptions): Next | undefined;
  /**
   * Reports the outcome of an attempt on `node` picked by this selector's {@link Next}: `err`
   * undefined for success. Only transport faults (a MicroError with `fault`) count against a
   * node; handler errors never do. `latencyMs` is how long the attempt took, when measured.
   * Call it exactly once per pick: the node's in-flight count is picks minus marks.
   */
  mark(service: string, node: Node, err?: unknown, latencyMs?: number): void;
  /** Forgets what was learned about `service`'s nodes. */
  reset(service: string): void;
  /** What the selector knows of `service`'s nodes now (for metrics, tests and debugging). */
  stats?(service: string): NodeStat[];
  /** Stops watches and timers. */
  close(): Promise<void>;
}
