/**
 * Service discovery: where the instances of a service are.
 *
 * The data model is go-micro's (registry/registry.go) with its lowercase JSON keys, so the same
 * entries can be read by Go peers through a shared registry such as Consul.
 */

/** A recursive description of a request or response type (go-micro `registry.Value`). */
export interface Value {
  name: string;
  type: string;
  values?: Value[] | null;
}

/** One callable endpoint, `Handler.Method` (or a subscriber). */
export interface Endpoint {
  /** `Handler.Method`, e.g. `Greeter.Hello`. */
  name: string;
  request?: Value | null;
  response?: Value | null;
  /** `{stream: "true"}` for streaming endpoints; `{topic, subscriber: "true"}` for subscribers. */
  metadata: Record<string, string>;
}

/** One running instance of a service. */
export interface Node {
  /** Unique per instance: `<service>-<uuid>`. */
  id: string;
  /** `host:port` the instance serves on (IPv6 hosts bracketed). */
  address: string;
  /**
   * Free-form labels: `protocol`, `transport`, `server`, `registry`, `broker`, and user labels such
   * as `weight`.
   */
  metadata: Record<string, string>;
}

/** A service at one version, with the nodes that run it. */
export interface Service {
  name: string;
  version: string;
  metadata?: Record<string, string>;
  endpoints: Endpoint[];
  nodes: Node[];
}

/** Options for {@link Registry.register}. */
export interface RegisterOptions {
  /**
   * How long the entry lives without being registered again, in ms. The server re-registers on
   * an interval shorter than this (its heartbeat); an instance that dies stops doing so and its
   * entry expires. 0 means no expiry.
   */
  ttlMs?: number;
}

/** What changed, as go-micro's watcher reports it. */
export type WatchAction = 'create' | 'update' | 'delete';

/**
 * One change. For `create`/`update`, `service.nodes` holds the nodes created or updated; for
 * `delete`, the nodes removed. A delete with no nodes means the whole version is gone.
 */
export interface WatchEvent {
  action: WatchAction;
  service: Service;
}

/** Options for {@link Registry.watch}. */
export interface WatchOptions {
  /** Only report changes of this service. Omit to watch every service (some registries refuse). */
  service?: string;
}

/**
 * A stream of registry changes. Iterate it with `for await`; `stop()` (or breaking out of the
 * loop) ends it and frees what it holds. If the registry fails, iteration throws.
 */
export interface Watcher extends AsyncIterable<WatchEvent> {
  stop(): void;
  [Symbol.asyncDispose](): Promise<void>;
}

/** A service registry: register instances, look them up, watch for changes. */
export interface Registry {
  /** Short name, published in node metadata (`registry=<name>`). */
  readonly name: string;
  /**
   * Registers (or refreshes) the nodes of `service`. Calling it again with the same node ids
   * renews their TTL: that is the heartbeat.
   */
  register(service: Service, opts?: RegisterOptions): Promise<void>;
  /** Removes the nodes of `service` (matched by node id). Unknown nodes are ignored. */
  deregister(service: Service): Promise<void>;
  /**
   * The live instances of `name`, one {@link Service} per version, nodes grouped under it.
   * An unknown service gives an empty list. Rejects when the registry cannot be reached.
   */
  getService(name: string): Promise<Service[]>;
  /** Every known service (name and version; nodes may be omitted). */
  listServices(): Promise<Service[]>;
  /** Watches for changes; see {@link Watcher}. */
  watch(opts?: WatchOptions): Watcher;
  /** Releases connections, timers and watchers. The registry is unusable afterwards. */
  close(): Promise<void>;
}
