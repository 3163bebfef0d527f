import { MicroError } from '../errors.js';

/** When and for how long nodes are ejected. */
export interface EjectionPolicy {
  /** Consecutive transport faults that eject a node; 0 disables ejection. */
  afterFaults: number;
  /** First ejection period, ms; doubled on each repeat offence. */
  baseMs: number;
  /** Longest ejection period, ms. */
  maxMs: number;
  /** Largest share (0–1) of a service's nodes ejected at once. */
  maxShare: number;
}

/** How an attempt's outcome bears on its node's health. */
export type Outcome = 'answered' | 'fault' | 'neutral';

/**
 * Classifies an attempt's error, from where it came from, never from its text:
 * - no error, or any error the node answered with (a handler's 4xx/5xx) → 'answered': the node is
 *   reachable, so a business error never counts against it;
 * - a MicroError carrying a transport `fault` (refused, reset, unavailable, per-attempt timeout)
 *   → 'fault';
 * - a 408 without a fault (the caller's budget ran out or the call was cancelled; or a handler
 *   timed out downstream) and anything that is not a MicroError → 'neutral': it says nothing
 *   about this node, so it neither counts nor clears.
 */
export function outcomeOf(err: unknown): Outcome {
  if (err === undefined) return 'answered';
  if (!MicroError.is(err)) return 'neutral';
  if (err.fault) return 'fault';
  return err.code === 408 ? 'neutral' : 'answered';
}

interface Health {
  consecutiveFaults: number;
  ejections: number;
  /** End of the current or last ejection, epoch ms (0: never ejected). */
  ejectedUntil: number;
}

/** A node's health as {@link Blacklist.state} reports it. */
export interface HealthState {
  consecutiveFaults: number;
  ejections: number;
  ejectedUntil: number | undefined;
}

/**
 * Outlier ejection (go-micro's 2016 blacklist, done as its issue #87 asked): a node with
 * `afterFaults` transport faults in a row is ejected for `baseMs × 2^(ejections−1)` (capped at
 * `maxMs`), then put back by time alone — expiry is checked when asked, so no timer runs. Any
 * answer from the node clears its fault count. At most `maxShare` of a service's nodes are out at
 * once: with one node, or in a total outage, traffic keeps flowing.
 */
export class Blacklist {
  private readonly services = new Map<string, { nodeCount: number; nodes: Map<string, Health> }>();

  constructor(
    private readonly policy: EjectionPolicy,
    private readonly now: () => number = Date.now,
  ) {}

  /** How many nodes `service` has now (the base of the max share). */
  setNodeCount(service: string, count: number): void {
    this.service(service).nodeCount = count;
  }

  /**
   * Records an attempt's outcome; returns the ejection period in ms when this outcome ejected the
   * node.
   */
  record(service: string, nodeId: string, outcome: Outcome): number | undefined {
    if (outcome === 'neutral' || this.policy.afterFaults === 0) return undefined;
    const s = this.service(service);
    const now = this.now();
    let h = s.nodes.get(nodeId);
    if (outcome === 'answered') {
      if (!h) return undefined;
      h.consecutiveFaults = 0;
      // A node that has behaved for a full max period since its last ejection starts afresh.
      if (h.ejectedUntil <= now - this.policy.maxMs) s.nodes.delete(nodeId);
      return undefined;
    }
    if (!h) {
      h = { consecutiveFaults: 0, ejections: 0, ejectedUntil: 0 };
      s.nodes.set(nodeId, h);
    }
    h.consecutiveFaults++;
    if (h.ejectedUntil > now || h.consecutiveFaults < this.policy.afterFaults) return undefined;
    if (this.ejectedCount(s.nodes, now) + 1 > Math.floor(this.policy.maxShare * s.nodeCount))
      return undefined;
    h.ejections++;
    const period = Math.min(this.policy.baseMs * 2 ** (h.ejections - 1), this.policy.maxMs);
    h.ejectedUntil = now + period;
    h.consecutiveFaults = 0;
    return period;
  }

  /** True while `nodeId` is ejected. */
  isEjected(service: string, nodeId: string): boolean {
    const h = this.services.get(service)?.nodes.get(nodeId);
    return h !== undefined && h.ejectedUntil > this.now();
  }

  /** True when some node of `service` has a health record (a fast path for picking). */
  tracks(service: string): boolean {
    return (this.services.get(service)?.nodes.size ?? 0) > 0;
  }

  /** What is recorded about `nodeId`. */
  state(service: string, nodeId: string): HealthState {
    const h = this.services.get(service)?.nodes.get(nodeId);
    const now = this.now();
    return {
      consecutiveFaults: h?.consecutiveFaults ?? 0,
      ejections: h?.ejections ?? 0,
      ejectedUntil: h && h.ejectedUntil > now ? h.ejectedUntil : undefined,
    };
  }

  /** Forgets nodes of `service` not in `keep`. */
  prune(service: string, keep: ReadonlySet<string>): void {
    const nodes = this.services.get(service)?.nodes;
    if (!nodes) return;
    for (const id of nodes.keys()) if (!keep.has(id)) nodes.delete(id);
  }

  /** Puts every node of `service` back and forgets its history. */
  reset(service: string): void {
    this.services.delete(service);
  }

  private service(name: string): { nodeCount: number; nodes: Map<string, Health> } {
    let s = this.services.get(name);
    if (!s) {
      s = { nodeCount: 0, nodes: new Map() };
      this.services.set(name, s);
    }
    return s;
  }

  private ejectedCount(nodes: Map<string, Health>, now: number): number {
    let n = 0;
    for (const h of nodes.values()) if (h.ejectedUntil > now) n++;
    return n;
  }
}
