import { stringRecord, type NodeRecord } from '../node-records.js';

/**
 * The etcd key layout and value format, go-micro's (registry/etcd): the key of a node is
 * `<prefix><service>/<node id>`, its value the service JSON with that node alone. Pure functions;
 * not exported from the package.
 */

/** Key prefix of every node of `service`. */
export function servicePrefix(prefix: string, service: string): string {
  return `${prefix}${service}/`;
}

/** Key of one node. */
export function serviceKey(prefix: string, service: string, nodeId: string): string {
  return `${servicePrefix(prefix, service)}${nodeId}`;
}

/**
 * The record in a stored value, or undefined when it is not a service entry (a foreign key under
 * the prefix must not break readers). Go peers write `null` for empty lists and maps.
 */
export function parseEntry(value: string): NodeRecord | undefined {
  let obj: unknown;
  try {
    obj = JSON.parse(value);
  } catch {
    return undefined;
  }
  if (typeof obj !== 'object' || obj === null) return undefined;
  const s = obj as Record<string, unknown>;
  const node = Array.isArray(s.nodes)
    ? (s.nodes[0] as Record<string, unknown> | undefined)
    : undefined;
  if (
    typeof s.name !== 'string' ||
    typeof node?.id !== 'string' ||
    typeof node.address !== 'string'
  )
    return undefined;
  return {
    service: {
      name: s.name,
      version: typeof s.version === 'string' ? s.version : '',
      metadata: stringRecord(s.metadata),
      endpoints: Array.isArray(s.endpoints)
        ? (s.endpoints as NodeRecord['service']['endpoints'])
        : [],
    },
    node: { id: node.id, address: node.address, metadata: stringRecord(node.metadata) },
  };
}
