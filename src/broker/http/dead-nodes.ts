import type { Service } from '../../registry/registry.js';

/** Most nodes remembered as dead; a registry full of dead entries cannot grow the set past it. */
const MAX_DEAD = 10_000;

/**
 * Subscriber nodes a delivery found unreachable, left out of delivery for `forMs` while the
 * registry still lists them (a SIGKILLed process stays listed until its TTL runs out in
 * Consul or etcd). A node id names one subscription of one broker instance, so a restarted
 * process comes back under a new id and is never shut out by this.
 */
export class DeadNodes {
  private readonly until = new Map<string, number>();

  constructor(private readonly forMs: number) {}

  mark(id: string): void {
    if (this.forMs === 0) return;
    if (this.until.size >= MAX_DEAD) this.until.clear();
    this.until.set(id, Date.now() + this.forMs);
  }

  has(id: string): boolean {
    const t = this.until.get(id);
    if (t === undefined) return false;
    if (t > Date.now()) return true;
    this.until.delete(id);
    return false;
  }

  /** Forgets the nodes the registry no longer lists: nothing to leave out any more. */
  forgetUnlisted(services: readonly Service[]): void {
    if (this.until.size === 0) return;
    const listed = new Set<string>();
    for (const s of services) for (const n of s.nodes) listed.add(n.id);
    for (const id of this.until.keys()) if (!listed.has(id)) this.until.delete(id);
  }

  clear(): void {
    this.until.clear();
  }
}
