import type { Registry, Service, WatchEvent } from '../registry/registry.js';
import type { Logger } from '../logger.js';

interface Entry {
  services: Service[];
  fetchedAt: number;
}

/**
 * The selector's view of the registry: one entry per service, kept current by a registry watch
 * started on first lookup, re-fetched when older than the TTL, one lookup in flight per service,
 * and served stale while the registry is failing (go-micro registry/cache, without its goroutine
 * leaks: every watch ends on close()).
 */
export class ServiceCache {
  private readonly entries = new Map<string, Entry>();
  private readonly inflight = new Map<string, Promise<Service[]>>();
  private readonly watches = new Map<string, { stop(): void }>();
  private closed = false;

  constructor(
    private readonly registry: Registry,
    private readonly ttlMs: number,
    private readonly logger?: Logger,
  ) {}

  /** The services (one per version) named `name`; from cache when fresh. */
  async get(name: string): Promise<Service[]> {
    const entry = this.entries.get(name);
    if (entry && Date.now() - entry.fetchedAt < this.ttlMs) return entry.services;
    const pending = this.inflight.get(name);
    if (pending) return pending;
    const lookup = this.fetch(name, entry).finally(() => this.inflight.delete(name));
    this.inflight.set(name, lookup);
    return lookup;
  }

  /** Drops what is cached for `name` so the next lookup asks the registry. */
  invalidate(name: string): void {
    this.entries.delete(name);
  }

  close(): void {
    this.closed = true;
    for (const w of this.watches.values()) w.stop();
    this.watches.clear();
    this.entries.clear();
  }

  private async fetch(name: string, stale: Entry | undefined): Promise<Service[]> {
    this.ensureWatch(name);
    try {
      const services = await this.registry.getService(name);
      if (!this.closed) this.entries.set(name, { services, fetchedAt: Date.now() });
      return services;
    } catch (err) {
      if (!stale) throw err;
      // Stale on error: the last known nodes are better than none while the registry is down.
      this.logger?.warn({ service: name, err }, 'registry lookup failed; serving cached nodes');
      return stale.services;
    }
  }

  private ensureWatch(name: string): void {
    if (this.closed || this.watches.has(name)) return;
    let stopped = false;
    let current: { stop(): void } | undefined;
    this.watches.set(name, { stop: () => { stopped = true; current?.stop(); } });
    const loop = async (): Promise<void> => {
      let failures = 0;
      while (!stopped && !this.closed) {
        try {
          const watcher = this.registry.watch({ service: name });
          current = watcher;
          for await (const event of watcher) {
            failures = 0;
            this.apply(name, event);
          }
          if (stopped) return;
        } catch (err) {
          this.logger?.debug({ service: name, err }, 'registry watch failed; restarting');
        }
        // Events may have been missed while the watch was down: the next lookup re-fetches.
        const entry = this.entries.get(name);
        if (entry) entry.fetchedAt = 0;
        failures = Math.min(failures + 1, 4);
        await sleep(10 ** failures + Math.random() * 100);
      }
    };
    void loop();
  }

  private apply(name: string, event: WatchEvent): void {
    const entry = this.entries.get(name);
    if (!entry) return; // nothing cached yet: the next lookup fetches the full list
    entry.services = applyEvent(entry.services, event);
    entry.fetchedAt = Date.now();
  }
}

/** The service list after `event`: nodes merged by id on create/update, removed on delete. */
export function applyEvent(services: Service[], event: WatchEvent): Service[] {
  const { action, service } = event;
  const out = services.map((s) => ({ ...s, nodes: [...s.nodes] }));
  let target = out.find((s) => s.version === service.version);
  if (action === 'delete') {
    if (!target) return out;
    if (service.nodes.length === 0) return out.filter((s) => s !== target);
    const gone = new Set(service.nodes.map((n) => n.id));
    target.nodes = target.nodes.filter((n) => !gone.has(n.id));
    return target.nodes.length === 0 ? out.filter((s) => s !== target) : out;
  }
  if (!target) {
    target = { ...service, nodes: [] };
    out.push(target);
  } else {
    target.endpoints = service.endpoints;
    if (service.metadata) target.metadata = service.metadata;
  }
  for (const node of service.nodes) {
    const i = target.nodes.findIndex((n) => n.id === node.id);
    if (i >= 0) target.nodes[i] = node;
    else target.nodes.push(node);
  }
  return out;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
