import { deflateSync, inflateSync } from 'node:zlib';
import { stringRecord } from '../node-records.js';
import type { Endpoint, Value } from '../registry.js';

/**
 * go-micro's Consul tag format (registry/consul/encoding.go), byte-compatible both ways: every
 * value is `<prefix>-<lowercase hex of a zlib stream>`, or the legacy plain form
 * `<prefix>=<text>`. `t` tags carry one node-metadata pair each as a single-key JSON object,
 * `e` tags one endpoint as JSON, and the one `v` tag the raw version string. Pure functions.
 */

/** `hex(zlib(text))`, as go-micro's `encode`. */
export function encodePayload(text: string): string {
  return deflateSync(Buffer.from(text, 'utf8')).toString('hex');
}

/** Inverse of {@link encodePayload}; undefined when the hex or the zlib stream is malformed. */
export function decodePayload(hex: string): string | undefined {
  if (hex.length === 0 || hex.length % 2 !== 0 || !/^[0-9a-fA-F]+$/.test(hex)) return undefined;
  try {
    // Any valid zlib stream decodes: Go's compressor bytes differ from Node's, not their meaning.
    return inflateSync(Buffer.from(hex, 'hex')).toString('utf8');
  } catch {
    return undefined;
  }
}

/**
 * The tags go-micro writes for a node: metadata (`t-`), then endpoints (`e-`) in order, then
 * the version (`v-`).
 */
export function encodeTags(
  metadata: Record<string, string>,
  endpoints: readonly Endpoint[],
  version: string,
): string[] {
  const tags: string[] = [];
  for (const [k, v] of Object.entries(metadata))
    tags.push(`t-${encodePayload(JSON.stringify({ [k]: v }))}`);
  for (const ep of endpoints) tags.push(`e-${encodePayload(JSON.stringify(endpointJSON(ep)))}`);
  tags.push(`v-${encodePayload(version)}`);
  return tags;
}

/**
 * The version of the first `v=`/`v-` tag that decodes; `''` when there is none (go-micro's rule).
 */
export function decodeVersion(tags: readonly string[]): string {
  for (const tag of tags) {
    if (tag.length < 2 || tag[0] !== 'v') continue;
    if (tag[1] === '=') return tag.slice(2);
    if (tag[1] === '-') {
      const text = decodePayload(tag.slice(2));
      if (text !== undefined) return text;
    }
  }
  return '';
}

/**
 * Node metadata merged from the `t` tags. As in go-micro, the first tag that decodes fixes the
 * variant (`=` or `-`); later tags of the other variant are skipped; bad tags are ignored.
 */
export function decodeMetadata(tags: readonly string[]): Record<string, string> {
  const md: Record<string, string> = {};
  for (const obj of decodeJSONTags(tags, 't')) {
    if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) continue;
    for (const [k, v] of Object.entries(obj)) if (typeof v === 'string') md[k] = v;
  }
  return md;
}

/** Endpoints from the `e` tags, same variant rule as {@link decodeMetadata}. */
export function decodeEndpoints(tags: readonly string[]): Endpoint[] {
  const out: Endpoint[] = [];
  for (const obj of decodeJSONTags(tags, 'e')) {
    const ep = toEndpoint(obj);
    if (ep) out.push(ep);
  }
  return out;
}

function decodeJSONTags(tags: readonly string[], kind: 't' | 'e'): unknown[] {
  const out: unknown[] = [];
  let variant: string | undefined;
  for (const tag of tags) {
    if (tag.length < 2 || tag[0] !== kind) continue;
    const v = tag[1];
    if (variant !== undefined && v !== variant) continue;
    const text = v === '=' ? tag.slice(2) : v === '-' ? decodePayload(tag.slice(2)) : undefined;
    if (text === undefined) continue;
    try {
      out.push(JSON.parse(text));
      variant = v;
    } catch {
      // go-micro ignores tags that do not decode; so do we.
    }
  }
  return out;
}

/** An endpoint as go-micro marshals it: every key present, `null` for a missing value. */
function endpointJSON(ep: Endpoint): Record<string, unknown> {
  return {
    name: ep.name,
    request: ep.request ?? null,
    response: ep.response ?? null,
    metadata: ep.metadata ?? {},
  };
}

function toEndpoint(obj: unknown): Endpoint | undefined {
  if (typeof obj !== 'object' || obj === null) return undefined;
  const o = obj as Record<string, unknown>;
  if (typeof o.name !== 'string') return undefined;
  const ep: Endpoint = { name: o.name, metadata: stringRecord(o.metadata) };
  const request = toValue(o.request);
  const response = toValue(o.response);
  if (request) ep.request = request;
  if (response) ep.response = response;
  return ep;
}

function toValue(obj: unknown): Value | undefined {
  if (typeof obj !== 'object' || obj === null) return undefined;
  const o = obj as Record<string, unknown>;
  const v: Value = {
    name: typeof o.name === 'string' ? o.name : '',
    type: typeof o.type === 'string' ? o.type : '',
  };
  // Go writes `"values":null` for a leaf; keep the children when there are some.
  if (Array.isArray(o.values))
    v.values = o.values.map(toValue).filter((x): x is Value => x !== undefined);
  return v;
}
