import { DEFAULTS } from '../../defaults.js';
import { parseAddress } from '../../options.js';
import type { Node, Service } from '../registry.js';
import { encodeTags } from './encoding.js';

/**
 * What the Consul registry sends to register one node: go-micro's AgentServiceRegistration
 * (registry/consul Register), in node-consul's lowercase keys. Pure functions; not exported from
 * the package.
 */

/** The agent service registration go-micro sends for one node. */
export function registration(service: Service, node: Node, ttlMs: number): Record<string, unknown> {
  const hp = parseAddress(node.address);
  const body: Record<string, unknown> = {
    id: node.id,
    name: service.name,
    tags: encodeTags(node.metadata ?? {}, service.endpoints ?? [], service.version),
    address: hp ? hp.host : node.address,
    port: hp ? hp.port : 0,
    meta: consulMeta(node.metadata ?? {}),
  };
  if (ttlMs > 0) {
    const dereg =
      Math.max(ttlMs, DEFAULTS.consulMinDeregisterMs) + DEFAULTS.consulDeregisterMarginMs;
    // Registered passing: otherwise a TTL check starts critical and the node is hidden until the
    // first beat.
    body.check = {
      ttl: goDuration(ttlMs),
      deregistercriticalserviceafter: goDuration(dereg),
      status: 'passing',
    };
  }
  return body;
}

/**
 * Node metadata as Consul `Meta`, keeping only what Consul accepts (keys of letters, digits,
 * `_` and `-`, at most 64 pairs): a label Consul refuses must not fail the registration, and
 * metadata round-trips through the `t-` tags anyway, which are what go-micro reads.
 */
function consulMeta(md: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  let n = 0;
  for (const [k, v] of Object.entries(md)) {
    if (n >= 64 || !/^[A-Za-z0-9_-]{1,128}$/.test(k) || v.length > 512 || k.startsWith('consul-'))
      continue;
    out[k] = v;
    n++;
  }
  return out;
}

/**
 * Go's `time.Duration.String()` for whole milliseconds: 90 s → `1m30s`, 2.5 s → `2.5s`, 0 → `0s`.
 */
export function goDuration(ms: number): string {
  ms = Math.round(ms);
  if (ms === 0) return '0s';
  if (ms < 1000) return `${ms}ms`;
  const h = Math.floor(ms / 3_600_000);
  const m = Math.floor((ms % 3_600_000) / 60_000);
  const s = `${(ms % 60_000) / 1000}s`;
  if (h > 0) return `${h}h${m}m${s}`;
  if (m > 0) return `${m}m${s}`;
  return s;
}
