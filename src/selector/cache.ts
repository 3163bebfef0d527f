import type { Registry, Service, WatchEvent } from '../registry/registry.js';
import type { Logger } from '../logger.js';
import { EntrySanitizer } from './sanitize.js';

interface Entry {
  services: Service[];
  fetchedAt: number;
  /** When the last lookup failed while this entry was kept (stale on error); 0 when it did not. */
  failedAt: number;
  /**
   * The registry says the service has no nodes any more, but these are kept: a registry that
   * lost its data (directory removed, store wiped) looks just like that. Each is dropped as soon
   * as it fails with a transport fault, so a service that really is gone ends after one failed
   * attempt per node.
   */
  orphaned: boolean;
}

/** Tuning of a {@link ServiceCache}. */
export interface ServiceCacheConfig {
  /** Entry lifetime without a registry update, ms. */
  ttlMs: number;
  /** While lookups fail, stale entries are served without a new lookup for this long, ms. */
  minRefreshMs: number;
  /**
   * Log keeping the last known nodes at debug rather than warn: for the HTTP broker the last
   * subscriber of all leaving is routine, not a sign of a wiped registry.
   */
  quietOrphans?: boolean;
}

/**
 * The selector's view of the registry: one entry per service, kept current by a registry watch
 * started on first lookup, re-fetched when older than the TTL, one lookup in flight per service,
 * and served stale while the registry is failing — without asking it again for `minRefreshMs`
 * (go-micro registry/cache, without its goroutine leaks: every watch ends on close()). When the
 * registry suddenly reports no nodes at all, the last known ones are kept (see `Entry.orphaned`).
 */
export class ServiceCache {
  private readonly entries = new Map<string, Entry>();
  private readonly inflight = new Map<string, Promise<Service[]>>();
  private readonly watches = new Map<string, { stop(): void }>();
  private closed = false;
  /** Every list and event from the registry passes through it: corrupt nodes never get cached. */
  private readonly sanitizer: EntrySanitizer;

  constructor(
    private readonly registry: Registry,
    private readonly config: ServiceCacheConfig,
    private readonly logger?: Logger,
  ) {
    this.sanitizer = new EntrySanitizer(logger);
  }

  /**
   * The services (one per version) named `name`; from cache when fresh, or when the registry
   * failed less than `minRefreshMs` ago. The array is replaced, never changed, on updates.
   */
  async get(name: string): Promise<Service[]> {
    const entry = this.entries.get(name);
    if (entry && this.usable(entry, Date.now())) return entry.services;
    const pending = this.inflight.get(name);
    if (pending) return pending;
    const lookup = this.fetch(name, entry).finally(() => this.inflight.delete(name));
    this.inflight.set(name, lookup);
    return lookup;
  }

  /** What {@link get} would return without a lookup, or undefined when it would look up. */
  peek(name: string): Service[] | undefined {
    const entry = this.entries.get(name);
    return entry && this.usable(entry, Date.now()) ? entry.services : undefined;
  }

  /** Fresh, or served stale because the registry failed less than `minRefreshMs` ago. */
  private usable(entry: Entry, now: number): boolean {
    return (
      now - entry.fetchedAt < this.config.ttlMs || now - entry.failedAt < this.config.minRefreshMs
    );
  }

  /** Drops what is cached for `name` so the next lookup asks the registry. */
  invalidate(name: string): void {
    this.entries.delete(name);
  }

  /**
   * A transport fault on `nodeId`: if the registry no longer lists the node (it is kept only as
   * an orphan), forget it. Returns true when it was dropped.
   */
  dropOrphan(name: string, nodeId: string): boolean {
    const entry = this.entries.get(name);
    if (!entry?.orphaned) return false;
    const services = entry.services
      .map((s) => ({ ...s, nodes: s.nodes.filter((n) => n.id !== nodeId) }))
      .filter((s) => s.nodes.length > 0);
    if (nodeCount(services) === nodeCount(entry.services)) return false;
    if (services.length === 0) this.entries.delete(name);
    else entry.services = services;
    return true;
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
      const services = this.sanitizer.clean(name, await this.registry.getService(name));
      if (this.closed) return services;
      if (nodeCount(services) === 0 && stale && nodeCount(stale.services) > 0) {
        this.orphan(name, stale);
        stale.fetchedAt = Date.now();
        return stale.services;
      }
      this.entries.set(name, { services, fetchedAt: Date.now(), failedAt: 0, orphaned: false });
      return services;
    } catch (err) {
      if (!stale) throw err;
      // Stale on error: the last known nodes are better than none while the registry is down.
      if (stale.failedAt === 0)
        this.logger?.warn({ service: name, err }, 'registry lookup failed; serving cached nodes');
      stale.failedAt = Date.now();
      return stale.services;
    }
  }

  private ensureWatch(name: string): void {
    if (this.closed || this.watches.has(name)) return;
    let stopped = false;
    let current: { stop(): void } | undefined;
    this.watches.set(name, {
      stop: () => {
        stopped = true;
        current?.stop();
      },
    });
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

  private apply(name: string, raw: WatchEvent): void {
    const entry = this.entries.get(name);
    if (!entry) return; // nothing cached yet: the next lookup fetches the full list
    const service = this.sanitizer.service(name, raw.service);
    // A delete left with no nodes would read as "the whole version is gone": only when it said so.
    if (
      !service ||
      (raw.action === 'delete' &&
        service.nodes.length === 0 &&
        Array.isArray(raw.service.nodes) &&
        raw.service.nodes.length > 0)
    )
      return;
    const event: WatchEvent = service === raw.service ? raw : { ...raw, service };
    entry.fetchedAt = Date.now();
    entry.failedAt = 0;
    if (entry.orphaned) {
      if (event.action === 'delete') return;
      // The registry is back: its nodes replace the orphans.
      entry.services = applyEvent([], event);
      entry.orphaned = false;
      return;
    }
    const services = applyEvent(entry.services, event);
    if (nodeCount(services) === 0 && nodeCount(entry.services) > 0) this.orphan(name, entry);
    else entry.services = services;
  }

  private orphan(name: string, entry: Entry): void {
    if (!entry.orphaned)
      this.logger?.[this.config.quietOrphans ? 'debug' : 'warn'](
        { service: name },
        'registry lists no nodes any more; keeping the last known ones until they fail',
      );
    entry.orphaned = true;
  }
}

function nodeCount(services: readonly Service[]): number {
  let n = 0;
  for (const s of services) n += s.nodes.length;
  return n;
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
