import { DEFAULTS } from '../defaults.js';
import type { NodeStatsView } from './selector.js';

interface Counters {
  inflight: number;
  latencyMs: number | undefined;
  /** When `latencyMs` was last updated, epoch ms. */
  sampledAt: number;
}

/**
 * Per-node in-flight counts and latency moving averages, per service: a few numbers per node,
 * updated in O(1) when an attempt starts and ends. They feed least-request picking and metrics.
 * The average decays toward 0 while a node gets no attempts (time constant `decayMs`), so a node
 * that was slow once is tried again later instead of being avoided forever.
 */
export class NodeStats {
  private readonly services = new Map<string, Map<string, Counters>>();

  constructor(
    private readonly alpha: number = DEFAULTS.latencyEwmaAlpha,
    private readonly decayMs: number = DEFAULTS.latencyDecayMs,
    private readonly now: () => number = Date.now,
  ) {}

  /** An attempt on the node started. */
  picked(service: string, nodeId: string): void {
    this.counters(service, nodeId).inflight++;
  }

  /** An attempt on the node ended, after `latencyMs` when measured. */
  settled(service: string, nodeId: string, latencyMs: number | undefined): void {
    const c = this.counters(service, nodeId);
    // Never below zero: a mark without a pick (a selector used by hand) must not skew picking.
    c.inflight = Math.max(0, c.inflight - 1);
    if (latencyMs !== undefined && Number.isFinite(latencyMs) && latencyMs >= 0) {
      const now = this.now();
      const current = this.decayed(c, now);
      c.latencyMs =
        current === undefined ? latencyMs : current + this.alpha * (latencyMs - current);
      c.sampledAt = now;
    }
  }

  /** The stats of `service` as strategies read them. */
  view(service: string): NodeStatsView {
    const nodes = this.nodes(service);
    return {
      inflight: (id) => nodes.get(id)?.inflight ?? 0,
      latencyMs: (id) => {
        const c = nodes.get(id);
        return c && this.decayed(c, this.now());
      },
    };
  }

  private decayed(c: Counters, now: number): number | undefined {
    if (c.latencyMs === undefined) return undefined;
    const idle = now - c.sampledAt;
    return idle <= 0 ? c.latencyMs : c.latencyMs * Math.exp(-idle / this.decayMs);
  }

  /** Forgets nodes of `service` that are not in `keep` (they left the registry). */
  prune(service: string, keep: ReadonlySet<string>): void {
    const nodes = this.services.get(service);
    if (!nodes) return;
    for (const id of nodes.keys()) if (!keep.has(id)) nodes.delete(id);
  }

  /** Forgets everything about `service`. */
  reset(service: string): void {
    this.services.delete(service);
  }

  private nodes(service: string): Map<string, Counters> {
    let nodes = this.services.get(service);
    if (!nodes) {
      nodes = new Map();
      this.services.set(service, nodes);
    }
    return nodes;
  }

  private counters(service: string, nodeId: string): Counters {
    const nodes = this.nodes(service);
    let c = nodes.get(nodeId);
    if (!c) {
      c = { inflight: 0, latencyMs: undefined, sampledAt: 0 };
      nodes.set(nodeId, c);
    }
    return c;
  }
}
