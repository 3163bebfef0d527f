import { AsyncQueue } from '../internal/async-queue.js';
import { MicroError } from '../errors.js';
import type {
  Node,
  RegisterOptions,
  Service,
  WatchAction,
  WatchEvent,
  Watcher,
} from './registry.js';

/**
 * What the memory and local registries share: both store one record per node (the node plus the
 * service version it runs), answer lookups by grouping records by version, and turn "records
 * before" and "records after" into watch events. Not exported from the package.
 */

/** Error id of failures the built-in registries report. */
export const REGISTRY_ERROR_ID = 'tsmicro.registry';

/** A service's description without its nodes: what every node record carries of its service. */
export type ServiceInfo = Omit<Service, 'nodes'>;

/** One registered node with the service version it belongs to. */
export interface NodeRecord {
  service: ServiceInfo;
  node: Node;
}

/** Records by {@link recordKey}. */
export type RecordMap = Map<string, NodeRecord>;

/** Map key of a record: a node id is unique within its service, whatever the version. */
export function recordKey(service: string, nodeId: string): string {
  return `${service}\u0000${nodeId}`;
}

/** One record per node of `service`, deep-copied so the caller may reuse its object. */
export function toRecords(service: Service): NodeRecord[] {
  const info: ServiceInfo = {
    name: service.name,
    version: service.version,
    endpoints: service.endpoints ?? [],
  };
  if (service.metadata !== undefined) info.metadata = service.metadata;
  return service.nodes.map((node) => structuredClone({ service: info, node }));
}

/** Services as callers see them: one per name and version, nodes grouped under it, all copies. */
export function groupRecords(records: Iterable<NodeRecord>): Service[] {
  const out = new Map<string, Service>();
  for (const r of records) {
    const key = recordKey(r.service.name, r.service.version);
    let s = out.get(key);
    if (!s) {
      s = { ...structuredClone(r.service), nodes: [] };
      out.set(key, s);
    }
    s.nodes.push(structuredClone(r.node));
  }
  return [...out.values()];
}

/**
 * The events that turn `prev` into `next`, grouped per action and version: deletes first, so a
 * node that moved to another version leaves the old one before it joins the new one (consumers
 * such as the selector cache group nodes by version and would otherwise keep it in both).
 * A record whose content is unchanged (a TTL renewal) gives no event.
 */
export function diffRecords(
  prev: ReadonlyMap<string, NodeRecord>,
  next: ReadonlyMap<string, NodeRecord>,
): WatchEvent[] {
  const events = new Map<string, WatchEvent>();
  const add = (action: WatchAction, r: NodeRecord): void => {
    const key = `${action}\u0000${recordKey(r.service.name, r.service.version)}`;
    let e = events.get(key);
    if (!e) {
      e = { action, service: { ...structuredClone(r.service), nodes: [] } };
      events.set(key, e);
    }
    e.service.nodes.push(structuredClone(r.node));
  };
  for (const [key, old] of prev) {
    const cur = next.get(key);
    if (!cur || cur.service.version !== old.service.version) add('delete', old);
  }
  for (const [key, cur] of next) {
    const old = prev.get(key);
    if (!old || old.service.version !== cur.service.version) add('create', cur);
    else if (canonical(old) !== canonical(cur)) add('update', cur);
  }
  return [...events.values()];
}

/**
 * JSON with object keys sorted, so two records compare equal whatever order their keys were set in.
 */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return v;
    return Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  });
}

/**
 * A {@link Watcher} fed through an {@link AsyncQueue}. `onStop` runs once, whichever way the
 * watch ends: `stop()`, dispose, the consumer leaving its loop, or the feeder ending the queue.
 */
export function createWatcher(onStop: () => void): {
  watcher: Watcher;
  queue: AsyncQueue<WatchEvent>;
} {
  const queue = new AsyncQueue<WatchEvent>(onStop);
  const watcher: Watcher = {
    [Symbol.asyncIterator]: () => queue,
    // return() rather than end(): events still buffered are dropped, as after go-micro's Stop().
    stop: () => void queue.return(),
    [Symbol.asyncDispose]: async () => {
      await queue.return();
    },
  };
  return { watcher, queue };
}

/** A watcher that has already failed with `err`: iterating it throws at once. */
export function failedWatcher(err: unknown): Watcher {
  const { watcher, queue } = createWatcher(() => {});
  queue.end(err);
  return watcher;
}

/** What {@link SnapshotWatch} needs from a registry. */
export interface SnapshotWatchOptions {
  /** The records when the watch starts; only changes after it are reported. */
  initial: RecordMap;
  /** Reads the records now. Rejecting ends the watch with that error. */
  scan(): Promise<RecordMap>;
  /** Interval of unprompted rescans, in ms: catches what no notification reports (expiry). */
  sweepMs: number;
  /** How long notifications are coalesced before a rescan, in ms. */
  debounceMs: number;
  /** Runs once when the watch ends, however it ends. */
  onStop(): void;
}

/**
 * A watch for registries that can only be re-read, not subscribed to: every rescan is diffed
 * against the previous one and the differences become events. Rescans run on {@link trigger}
 * (debounced) and on a sweep timer; one at a time, and a trigger during a scan runs another after
 * it, so no change is missed. Timers are unref'd: a watch alone does not keep a process alive.
 */
export class SnapshotWatch {
  readonly watcher: Watcher;
  stopped = false;
  private readonly queue: AsyncQueue<WatchEvent>;
  private snapshot: RecordMap;
  private readonly sweep: NodeJS.Timeout;
  private debounce: NodeJS.Timeout | undefined;
  private scanning = false;
  private again = false;

  constructor(private readonly opts: SnapshotWatchOptions) {
    const created = createWatcher(() => {
      this.stopped = true;
      clearInterval(this.sweep);
      clearTimeout(this.debounce);
      opts.onStop();
    });
    this.watcher = created.watcher;
    this.queue = created.queue;
    this.snapshot = opts.initial;
    this.sweep = setInterval(() => this.rescan(), Math.min(opts.sweepMs, MAX_TIMER_MS)).unref();
  }

  /** Something may have changed: rescan soon. */
  trigger(): void {
    if (this.stopped || this.debounce) return;
    this.debounce = setTimeout(() => {
      this.debounce = undefined;
      this.rescan();
    }, this.opts.debounceMs).unref();
  }

  private rescan(): void {
    if (this.stopped) return;
    if (this.scanning) {
      this.again = true;
      return;
    }
    this.scanning = true;
    void (async () => {
      try {
        do {
          this.again = false;
          const next = await this.opts.scan();
          if (this.stopped) return;
          const events = diffRecords(this.snapshot, next);
          this.snapshot = next;
          for (const e of events) this.queue.push(e);
        } while (this.again && !this.stopped);
      } catch (err) {
        this.queue.end(err);
      } finally {
        this.scanning = false;
      }
    })();
  }
}

/** setTimeout/setInterval fire at once for longer delays. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** True when `event` concerns the service a watcher asked for (or it asked for every service). */
export function watchedBy(service: string | undefined, event: WatchEvent): boolean {
  return service === undefined || event.service.name === service;
}

/**
 * Checks what `register`/`deregister` were given and returns the TTL in ms (0 = none).
 * A malformed service would otherwise be stored and break every reader; it is a 400.
 */
export function checkRegistration(service: Service, opts?: RegisterOptions): number {
  const bad = (detail: string): MicroError => MicroError.badRequest(REGISTRY_ERROR_ID, detail);
  if (typeof service !== 'object' || service === null) throw bad('service must be an object');
  if (typeof service.name !== 'string' || service.name === '')
    throw bad('service name must be a non-empty string');
  if (typeof service.version !== 'string')
    throw bad(`service ${service.name}: version must be a string`);
  if (!Array.isArray(service.nodes)) throw bad(`service ${service.name}: nodes must be an array`);
  for (const node of service.nodes) {
    if (typeof node?.id !== 'string' || node.id === '')
      throw bad(`service ${service.name}: every node needs a non-empty id`);
  }
  const ttl = opts?.ttlMs ?? 0;
  if (typeof ttl !== 'number' || !Number.isFinite(ttl) || ttl < 0)
    throw bad(`ttlMs must be a finite number ≥ 0, got ${String(ttl)}`);
  return ttl;
}

/** The error operations on a closed registry reject with. */
export function closedError(): MicroError {
  return MicroError.unavailable(REGISTRY_ERROR_ID, 'registry closed');
}
