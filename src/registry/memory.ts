import { clampTimeout } from '../context.js';
import type { AsyncQueue } from '../internal/async-queue.js';
import { checkString } from '../options.js';
import type {
  RegisterOptions,
  Registry,
  Service,
  WatchEvent,
  WatchOptions,
  Watcher,
} from './registry.js';
import { checkRegistration, closedError } from './errors.js';
import {
  diffRecords,
  groupRecords,
  recordKey,
  toRecords,
  type NodeRecord,
  type RecordMap,
} from './node-records.js';
import { createWatcher, failedWatcher, watchedBy } from './watchers.js';

/** Options for {@link memoryRegistry}. */
export interface MemoryRegistryOptions {
  /**
   * The registry's name, published in node metadata as `registry=<name>`.
   * @defaultValue `'memory'`
   */
  name?: string;
}

interface Entry {
  record: NodeRecord;
  /** Epoch ms after which the node is gone; 0 = never. */
  expiresAt: number;
}

/**
 * A registry held in this process's memory. Services in one process find each other by sharing
 * the instance; nothing is visible to other processes (use `localRegistry` for that).
 * Node TTLs are honoured: an expired node is no longer returned and watchers get a `delete`.
 */
export function memoryRegistry(opts: MemoryRegistryOptions = {}): Registry {
  return new MemoryRegistry(checkString('name', opts.name) ?? 'memory');
}

class MemoryRegistry implements Registry {
  /**
   * service name → node id → entry. A node id lives in one version at a time, as in the local
   * registry.
   */
  private readonly services = new Map<string, Map<string, Entry>>();
  private readonly watchers = new Set<{
    service: string | undefined;
    queue: AsyncQueue<WatchEvent>;
  }>();
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(readonly name: string) {}

  async register(service: Service, opts?: RegisterOptions): Promise<void> {
    if (this.closed) throw closedError();
    const ttl = checkRegistration(service, opts);
    const expiresAt = ttl > 0 ? Date.now() + ttl : 0;
    this.change(service.name, (nodes) => {
      for (const record of toRecords(service)) nodes.set(record.node.id, { record, expiresAt });
    });
  }

  async deregister(service: Service): Promise<void> {
    if (this.closed) throw closedError();
    checkRegistration(service);
    this.change(service.name, (nodes) => {
      for (const node of service.nodes) nodes.delete(node.id);
    });
  }

  async getService(name: string): Promise<Service[]> {
    if (this.closed) throw closedError();
    this.expire();
    return groupRecords([...(this.services.get(name)?.values() ?? [])].map((e) => e.record));
  }

  async listServices(): Promise<Service[]> {
    if (this.closed) throw closedError();
    this.expire();
    return [...this.services.values()].flatMap((nodes) =>
      groupRecords([...nodes.values()].map((e) => e.record)),
    );
  }

  watch(opts: WatchOptions = {}): Watcher {
    if (this.closed) return failedWatcher(closedError());
    const { watcher, queue } = createWatcher(() => this.watchers.delete(entry));
    const entry = { service: opts.service, queue };
    this.watchers.add(entry);
    return watcher;
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    for (const w of [...this.watchers]) w.queue.end();
    this.services.clear();
  }

  /** Applies `mutate` to one service's nodes and tells watchers what changed. */
  private change(name: string, mutate: (nodes: Map<string, Entry>) => void): void {
    this.expire();
    const nodes = this.services.get(name) ?? new Map<string, Entry>();
    const before = snapshot(name, nodes);
    mutate(nodes);
    if (nodes.size > 0) this.services.set(name, nodes);
    else this.services.delete(name);
    this.emit(diffRecords(before, snapshot(name, nodes)));
    this.schedule();
  }

  /**
   * Drops expired nodes (with their delete events). Lookups call it too, so a late timer is never
   * observable.
   */
  private expire(): void {
    const now = Date.now();
    for (const [name, nodes] of this.services) {
      const before = snapshot(name, nodes);
      for (const [id, e] of nodes) if (e.expiresAt > 0 && e.expiresAt <= now) nodes.delete(id);
      if (nodes.size === before.size) continue;
      if (nodes.size === 0) this.services.delete(name);
      this.emit(diffRecords(before, snapshot(name, nodes)));
    }
  }

  /** Arms one timer for the earliest expiry, so watchers hear of it without anyone calling in. */
  private schedule(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    let earliest = Infinity;
    for (const nodes of this.services.values()) {
      for (const e of nodes.values())
        if (e.expiresAt > 0 && e.expiresAt < earliest) earliest = e.expiresAt;
    }
    if (earliest === Infinity || this.closed) return;
    const delay = clampTimeout(earliest - Date.now());
    this.timer = setTimeout(() => {
      this.expire();
      this.schedule();
    }, delay).unref(); // expiry further away than a timer can wait is re-armed in steps
  }

  private emit(events: WatchEvent[]): void {
    for (const event of events) {
      for (const w of this.watchers) {
        // Each watcher gets its own copy: one consumer mutating an event cannot affect another.
        if (watchedBy(w.service, event)) w.queue.push(structuredClone(event));
      }
    }
  }
}

function snapshot(name: string, nodes: Map<string, Entry>): RecordMap {
  const out: RecordMap = new Map();
  for (const [id, e] of nodes) out.set(recordKey(name, id), e.record);
  return out;
}
