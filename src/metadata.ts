/**
 * Request metadata: string keys to string values, keys lowercased as gRPC sends them.
 * Immutable by convention: helpers return new objects, never mutate their inputs.
 */
export type Metadata = Readonly<Record<string, string>>;

/** An empty metadata object, shared. */
export const EMPTY_METADATA: Metadata = Object.freeze({});

/**
 * Keys the transports own or that describe a single hop. They are never taken from a caller's
 * metadata, never shown to handlers, and never propagated to the next hop: a caller cannot spoof
 * them and a deadline cannot leak past its hop.
 */
const HOP_KEYS = new Set([
  'timeout', // go-micro's per-hop budget in ns; recomputed per hop
  'x-content-type',
  'content-type',
  'te',
  'user-agent',
  'host',
  'connection',
  'authority',
]);

/**
 * True for keys tsmicro manages itself (see {@link HOP_KEYS}), gRPC-reserved (`grpc-*`) or pseudo
 * headers.
 */
export function isReservedKey(key: string): boolean {
  return key.startsWith(':') || key.startsWith('grpc-') || HOP_KEYS.has(key);
}

/**
 * Lowercases keys and drops reserved ones and values that are not strings. Used on everything
 * that arrives from a caller or a peer.
 */
export function normalizeMetadata(md: Readonly<Record<string, unknown>> | undefined): Metadata {
  if (!md) return EMPTY_METADATA;
  const out: Record<string, string> = {};
  for (const key of Object.keys(md)) {
    const value = md[key];
    const k = key.toLowerCase();
    if (typeof value !== 'string' || isReservedKey(k)) continue;
    out[k] = value;
  }
  return out;
}

/**
 * `base` overlaid with `over` (both already normalized); returns `base` itself when `over` is
 * empty.
 */
export function mergeMetadata(base: Metadata, over: Metadata | undefined): Metadata {
  if (!over) return base;
  let empty = true;
  for (const _ in over) {
    empty = false;
    break;
  }
  if (empty) return base;
  return { ...base, ...over };
}
