import { checkInteger } from '../options.js';
import type { GatewayLimits } from './options.js';

/** {@link GatewayLimits} with every default applied. */
export type ResolvedLimits = Required<GatewayLimits>;

/** The defaults: sized for JSON APIs, not uploads; each overridable. */
export const GATEWAY_LIMIT_DEFAULTS: Readonly<Required<GatewayLimits>> = Object.freeze({
  bodyBytes: 1024 * 1024,
  headerBytes: 16 * 1024,
  urlLength: 4096,
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  keepAliveTimeoutMs: 5_000,
  maxTimeoutMs: 60_000,
});

/** Checks `limits` (naming a bad one `limits.<field>`) and applies the defaults. */
export function resolveLimits(limits: GatewayLimits | undefined): ResolvedLimits {
  const out: Record<string, number> = { ...GATEWAY_LIMIT_DEFAULTS };
  for (const key of Object.keys(GATEWAY_LIMIT_DEFAULTS) as (keyof ResolvedLimits)[]) {
    const v = checkInteger(`limits.${key}`, limits?.[key], 1);
    if (v !== undefined) out[key] = v;
  }
  return out as ResolvedLimits;
}
