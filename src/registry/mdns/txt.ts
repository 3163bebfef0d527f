import { deflateSync, inflateSync } from 'node:zlib';
import type { Endpoint, Value } from '../registry.js';
import { stringRecord, type ServiceInfo } from '../node-records.js';

/**
 * The TXT record of one node, as go-micro's mDNS registry writes and reads it
 * (registry/mdns_registry.go `encode`/`decode`): the JSON of `{Metadata, Service, Version,
 * Endpoints}` (Go field names, no json tags; `Metadata` is the node's, not the service's),
 * zlib-compressed, hex-encoded, cut into strings of at most 255 characters (one TXT string's
 * limit). A reader joins the strings before decoding.
 */

/** Longest a TXT string may be. */
const TXT_STRING_MAX = 255;
/**
 * Most bytes a TXT record may inflate to. A UDP packet holds at most 64 KiB of hex, 32 KiB of
 * zlib; a hostile one could inflate that a thousandfold, so the output is capped.
 */
const INFLATED_MAX = 256 * 1024;
/** Deepest nesting of request/response values accepted (go-micro describes 3 levels deep). */
const VALUE_DEPTH_MAX = 32;

/** What a node's TXT record carries. */
export interface NodeTxt {
  service: ServiceInfo;
  metadata: Record<string, string>;
}

/** The TXT strings of a node of `service` with node metadata `metadata`. */
export function encodeTxt(service: ServiceInfo, metadata: Record<string, string>): string[] {
  const json = JSON.stringify({
    Metadata: metadata,
    Service: service.name,
    Version: service.version,
    Endpoints: service.endpoints,
  });
  const hex = deflateSync(json).toString('hex');
  const out: string[] = [];
  for (let i = 0; i < hex.length; i += TXT_STRING_MAX) out.push(hex.slice(i, i + TXT_STRING_MAX));
  return out;
}

/**
 * Decodes TXT strings written by {@link encodeTxt} or go-micro. Throws an Error saying what is
 * wrong with them: a foreign or hostile record must not get any further than this.
 */
export function decodeTxt(strings: readonly (string | Uint8Array)[]): NodeTxt {
  const hex = strings.map((s) => (typeof s === 'string' ? s : Buffer.from(s).toString())).join('');
  if (hex.length === 0 || hex.length % 2 !== 0 || !/^[0-9a-fA-F]+$/.test(hex))
    throw new Error('TXT is not hex');
  let json: Buffer;
  try {
    json = inflateSync(Buffer.from(hex, 'hex'), { maxOutputLength: INFLATED_MAX });
  } catch (err) {
    throw new Error(`TXT does not inflate: ${(err as Error).message}`, { cause: err });
  }
  let raw: unknown;
  try {
    raw = JSON.parse(json.toString('utf8'));
  } catch {
    throw new Error('TXT is not JSON');
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    throw new Error('TXT JSON is not an object');
  const o = raw as Record<string, unknown>;
  if (typeof o.Service !== 'string' || o.Service === '') throw new Error('TXT has no Service');
  if (typeof o.Version !== 'string') throw new Error('TXT Version is not a string');
  const endpoints = o.Endpoints ?? [];
  if (!Array.isArray(endpoints)) throw new Error('TXT Endpoints is not a list');
  return {
    service: { name: o.Service, version: o.Version, endpoints: endpoints.map(toEndpoint) },
    metadata: stringRecord(o.Metadata),
  };
}

function toEndpoint(raw: unknown): Endpoint {
  if (typeof raw !== 'object' || raw === null) throw new Error('TXT endpoint is not an object');
  const e = raw as Record<string, unknown>;
  if (typeof e.name !== 'string') throw new Error('TXT endpoint has no name');
  return {
    name: e.name,
    request: toValue(e.request, 0),
    response: toValue(e.response, 0),
    metadata: stringRecord(e.metadata),
  };
}

function toValue(raw: unknown, depth: number): Value | null {
  if (raw === null || raw === undefined) return null;
  if (depth > VALUE_DEPTH_MAX) throw new Error('TXT endpoint value nests too deep');
  if (typeof raw !== 'object') throw new Error('TXT endpoint value is not an object');
  const v = raw as Record<string, unknown>;
  if (typeof v.name !== 'string' || typeof v.type !== 'string')
    throw new Error('TXT endpoint value needs a name and a type');
  const out: Value = { name: v.name, type: v.type };
  if (Array.isArray(v.values)) {
    out.values = v.values.map((x) => {
      const child = toValue(x, depth + 1);
      if (child === null) throw new Error('TXT endpoint value list holds null');
      return child;
    });
  }
  return out;
}
