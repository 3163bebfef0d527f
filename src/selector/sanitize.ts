import type { Logger } from '../logger.js';
import { parseAddress } from '../options.js';
import type { Endpoint, Node, Service } from '../registry/registry.js';

/**
 * The selector's guard against what a registry hands it. Registries are shared and writable by
 * other processes (files in a directory, tags in Consul, keys in etcd), so an entry may be
 * corrupt or hostile: a node without an id, an address that is no `host:port` (absurd ports),
 * metadata or endpoints of the wrong type. Such a node is skipped, with one warning per node
 * and reason (not one per lookup); wrong-typed values around a usable node are dropped. Nothing
 * here throws, so one bad entry can never take down the selection of the good ones.
 */
export class EntrySanitizer {
  /**
   * node key + reason already logged; bounded, so a registry full of junk cannot grow it forever.
   */
  private readonly logged = new Set<string>();

  constructor(
    private readonly logger?: Logger,
    private readonly maxLogged = 10_000,
  ) {}

  /** `services` without unusable nodes and wrong-typed values; the same array when all is well. */
  clean(name: string, services: readonly unknown[]): Service[] {
    let changed = false;
    const out: Service[] = [];
    for (const s of Array.isArray(services) ? services : []) {
      const service = this.service(name, s);
      if (service !== s) changed = true;
      if (service) out.push(service);
    }
    return changed || !Array.isArray(services) ? out : (services as Service[]);
  }

  /** One service: the same object when it is clean, a cleaned copy, or undefined when unusable. */
  service(name: string, s: unknown): Service | undefined {
    if (!isRecord(s)) {
      this.skip(name, '?', 'service is not an object');
      return undefined;
    }
    let changed = false;
    const version = typeof s.version === 'string' ? s.version : ((changed = true), '');
    const nodes: Node[] = [];
    for (const n of Array.isArray(s.nodes) ? s.nodes : ((changed = true), [])) {
      const node = this.node(name, n);
      if (node !== n) changed = true;
      if (node) nodes.push(node);
    }
    const endpoints = Array.isArray(s.endpoints) ? s.endpoints.filter(isEndpoint) : [];
    if (endpoints.length !== (Array.isArray(s.endpoints) ? s.endpoints.length : -1)) changed = true;
    if (!changed) return s as unknown as Service;
    return {
      ...(s as unknown as Service),
      name: typeof s.name === 'string' ? s.name : name,
      version,
      nodes,
      endpoints,
    };
  }

  private node(service: string, n: unknown): Node | undefined {
    if (!isRecord(n)) {
      this.skip(service, '?', 'node is not an object');
      return undefined;
    }
    const id = typeof n.id === 'string' ? n.id : '';
    if (id === '') {
      this.skip(service, '', 'node id is missing or empty');
      return undefined;
    }
    const address = typeof n.address === 'string' ? parseAddress(n.address) : undefined;
    if (!address || address.port === 0 || address.host === '') {
      this.skip(
        service,
        id,
        `node address ${JSON.stringify(String(n.address)).slice(0, 100)} is not host:port with a port in 1-65535`,
      );
      return undefined;
    }
    const metadata = stringRecord(n.metadata);
    if (metadata === n.metadata) return n as unknown as Node;
    return { id, address: n.address as string, metadata };
  }

  private skip(service: string, node: string, reason: string): void {
    const key = `${service}\u0000${node}\u0000${reason}`;
    if (this.logged.has(key)) return;
    if (this.logged.size >= this.maxLogged) this.logged.clear();
    this.logged.add(key);
    this.logger?.warn({ service, node, reason }, 'registry entry skipped');
  }
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isEndpoint(e: unknown): e is Endpoint {
  return (
    isRecord(e) && typeof e.name === 'string' && (e.metadata === undefined || isRecord(e.metadata))
  );
}

/**
 * `v` when it is a plain record of strings, else a copy keeping only string values (never
 * `__proto__`).
 */
function stringRecord(v: unknown): Record<string, string> {
  if (!isRecord(v)) return {};
  let clean = Object.getPrototypeOf(v) === Object.prototype || Object.getPrototypeOf(v) === null;
  for (const k of Object.keys(v)) if (typeof v[k] !== 'string' || k === '__proto__') clean = false;
  if (clean) return v as Record<string, string>;
  const out: Record<string, string> = {};
  for (const k of Object.keys(v)) {
    const value = v[k];
    if (typeof value === 'string' && k !== '__proto__') out[k] = value;
  }
  return out;
}
