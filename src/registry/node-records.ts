import type { Node, Service, WatchAction, WatchEvent } from './registry.js';

/**
 * Node records, the unit every registry stores and watches: one record per node (the node plus
 * the service version it runs). Lookups group records by version; a watch turns "records before"
 * and "records after" into events. Used by all five registries; not exported from the package.
 */

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
 * The string-valued entries of a decoded JSON object, as a metadata map: Go peers write `null`
 * for an empty map, and a foreign writer may put anything there.
 */
export function stringRecord(obj: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (typeof obj !== 'object' || obj === null) return out;
  for (const [k, v] of Object.entries(obj)) if (typeof v === 'string') out[k] = v;
  return out;
}
