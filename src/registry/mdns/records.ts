import { isIPv4, isIPv6 } from 'node:net';
import type mDNS from 'multicast-dns';
import { joinHostPort, parseAddress } from '../../options.js';
import type { Node } from '../registry.js';
import type { ServiceInfo } from '../node-records.js';
import { decodeTxt, encodeTxt } from './txt.js';

/**
 * The DNS records of go-micro's mDNS registry (internal/util/mdns zone.go, with the names
 * mdns_registry.go gives it), built and read. In domain `d` (go-micro: `micro`):
 * - a node is instance `<node id>.<service>.d.`: SRV (priority 10, weight 1, the node's port,
 *   target the host name), A or AAAA of the host name (the node's IP), TXT (see txt.ts); a PTR
 *   `<service>.d.` → instance answers a query for the service;
 * - each service also has the list entry `<service>._services.d.` (PTR from `_services.d.`, SRV
 *   port 9999, A 0.0.0.0, empty TXT) that `ListServices` queries, and `_services._dns-sd._udp.d.`
 *   points to `_services.d.`.
 * go-micro's client (messageToEntry) keeps only the last instance of a packet, so every node, and
 * every list entry, goes in a packet of its own.
 */

export type Answer = mDNS.ResponsePacket['answers'][number];
export type Question = mDNS.QueryPacket['questions'][number];

/**
 * Nodes read from one packet. go-micro sends one per packet; each costs an inflate of up to
 * 256 KiB, so a packet crammed with them must not cost more than a few.
 */
const MAX_INSTANCES_PER_PACKET = 16;

/** Port go-micro gives the SRV of a service's list entry (nothing listens there). */
const LIST_ENTRY_PORT = 9999;

/** The names of domain `domain` (no dots around it). */
export class Names {
  constructor(readonly domain: string) {}
  service(service: string): string {
    return `${service}.${this.domain}`;
  }
  instance(service: string, nodeId: string): string {
    return `${nodeId}.${service}.${this.domain}`;
  }
  get list(): string {
    return `_services.${this.domain}`;
  }
  listEntry(service: string): string {
    return `${service}._services.${this.domain}`;
  }
  get enumeration(): string {
    return `_services._dns-sd._udp.${this.domain}`;
  }
}

/** A node this process announces. */
export interface LocalNode {
  service: ServiceInfo;
  node: Node;
  ip: string;
  port: number;
  txt: string[];
  /** Record TTL, seconds. */
  ttl: number;
}

/** A local node from a registration; throws when its address is not `ip:port`. */
export function localNode(service: ServiceInfo, node: Node, ttl: number): LocalNode {
  const addr = parseAddress(node.address);
  if (!addr || !(isIPv4(addr.host) || isIPv6(addr.host)) || addr.port === 0)
    throw new Error(
      `node ${node.id}: address must be ip:port (mDNS carries an IP), got ${JSON.stringify(node.address)}`,
    );
  return {
    service,
    node,
    ip: addr.host,
    port: addr.port,
    ttl,
    txt: encodeTxt(service, node.metadata ?? {}),
  };
}

/** SRV, A/AAAA and TXT of a node: what answers a query for the instance, and an announcement. */
export function instanceAnswers(names: Names, n: LocalNode, host: string, ttl = n.ttl): Answer[] {
  const name = names.instance(n.service.name, n.node.id);
  return [
    { name, type: 'SRV', ttl, data: { priority: 10, weight: 1, port: n.port, target: host } },
    isIPv4(n.ip)
      ? { name: host, type: 'A', ttl, data: n.ip }
      : { name: host, type: 'AAAA', ttl, data: n.ip },
    { name, type: 'TXT', ttl, data: n.txt },
  ];
}

/** The answer to a query for the node's service: the PTR first, then the instance's records. */
export function serviceAnswers(names: Names, n: LocalNode, host: string): Answer[] {
  const ptr: Answer = {
    name: names.service(n.service.name),
    type: 'PTR',
    ttl: n.ttl,
    data: names.instance(n.service.name, n.node.id),
  };
  return [ptr, ...instanceAnswers(names, n, host)];
}

/** The list entry of `service` (answers a query for `_services.<domain>.`). */
export function listAnswers(names: Names, service: string, host: string, ttl: number): Answer[] {
  const name = names.listEntry(service);
  return [
    { name: names.list, type: 'PTR', ttl, data: name },
    {
      name,
      type: 'SRV',
      ttl,
      data: { priority: 10, weight: 1, port: LIST_ENTRY_PORT, target: host },
    },
    { name: host, type: 'A', ttl, data: '0.0.0.0' },
    { name, type: 'TXT', ttl, data: [] },
  ];
}

/** A node read from a response: `ttl` 0 is go-micro's goodbye. */
export interface SeenNode {
  instance: string;
  service: ServiceInfo;
  node: Node;
  ttl: number;
}

/** What one response packet says. */
export interface Seen {
  nodes: SeenNode[];
  /** Service names from list entries, with their TTL. */
  listed: { name: string; ttl: number }[];
  /** Why records of the packet were skipped (hostile or foreign TXT, no address). */
  skipped: string[];
}

/**
 * Reads the nodes and list entries of our domain from a response (answers and additionals, as
 * go-micro reads them). Anything of another domain is ignored; a node of ours whose TXT does not
 * decode, or whose host has no address in the packet, is skipped and said why.
 */
export function readResponse(names: Names, packet: mDNS.ResponsePacket): Seen {
  const records = [...(packet.answers ?? []), ...(packet.additionals ?? [])] as Loose[];
  const seen: Seen = { nodes: [], listed: [], skipped: [] };
  const suffix = `.${names.domain}`;
  const listSuffix = `.${names.list}`;
  // First record of each type and name: a packet may hold thousands; no lookup walks them all.
  const byName = new Map<string, Loose>();
  for (const r of records) {
    const key = `${r.type} ${r.name}`;
    if (!byName.has(key)) byName.set(key, r);
  }
  let instances = 0;
  const find = (type: string, name: unknown): Loose | undefined =>
    typeof name === 'string' ? byName.get(`${type} ${name}`) : undefined;
  for (const r of records) {
    if (
      r.type === 'PTR' &&
      r.name === names.list &&
      typeof r.data === 'string' &&
      r.data.endsWith(listSuffix)
    ) {
      seen.listed.push({ name: r.data.slice(0, -listSuffix.length), ttl: r.ttl ?? 0 });
    }
    if (r.type !== 'SRV' || !r.name.endsWith(suffix) || r.name.endsWith(listSuffix)) continue;
    if (++instances > MAX_INSTANCES_PER_PACKET) {
      seen.skipped.push(`${r.name}: more than ${MAX_INSTANCES_PER_PACKET} nodes in one packet`);
      break;
    }
    const txt = find('TXT', r.name);
    if (!txt) continue; // a probe or a partial answer: go-micro waits for the TXT too
    let decoded;
    try {
      decoded = decodeTxt(txtStrings(txt.data));
    } catch (err) {
      seen.skipped.push(`${r.name}: ${(err as Error).message}`);
      continue;
    }
    const tail = `.${decoded.service.name}${suffix}`;
    if (!r.name.endsWith(tail) || r.name.length === tail.length) {
      seen.skipped.push(`${r.name}: not an instance of ${decoded.service.name}`);
      continue;
    }
    const srv = (typeof r.data === 'object' && r.data !== null ? r.data : {}) as {
      target?: unknown;
      port?: unknown;
    };
    const address = (type: 'A' | 'AAAA'): string | undefined => {
      const a = find(type, srv.target) ?? find(type, r.name);
      return typeof a?.data === 'string' ? a.data : undefined;
    };
    // go-micro prefers the IPv4 address
    const ip = address('A') ?? address('AAAA');
    if (ip === undefined || typeof srv.port !== 'number' || srv.port === 0) {
      seen.skipped.push(`${r.name}: no address`);
      continue;
    }
    seen.nodes.push({
      instance: r.name,
      service: decoded.service,
      node: {
        id: r.name.slice(0, -tail.length),
        address: joinHostPort(ip, srv.port),
        metadata: decoded.metadata,
      },
      ttl: Math.min(r.ttl ?? 0, txt.ttl ?? 0),
    });
  }
  return seen;
}

/** A record as decoded, whatever its type: the fields read are checked where they are read. */
interface Loose {
  name: string;
  type: string;
  ttl?: number;
  data?: unknown;
}

function txtStrings(data: unknown): (string | Uint8Array)[] {
  if (Array.isArray(data)) return data as (string | Uint8Array)[];
  if (typeof data === 'string' || data instanceof Uint8Array) return [data];
  return [];
}
