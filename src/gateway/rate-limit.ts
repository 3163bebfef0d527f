import { MicroError } from '../errors.js';
import { BucketMap } from '../wrappers/token-bucket.js';
import { GATEWAY_ERROR_ID } from './errors.js';
import type { GatewayRequestInfo } from './options.js';
import { targetKey, type ResolvedPolicy } from './policy.js';

/** Keys one limiter remembers before it forgets idle (full) buckets. */
const MAX_KEYS = 100_000;

/**
 * Rate limits by route and key: one token bucket per (policy entry, target, key), `points` deep
 * and refilled at `points` per `windowMs`, so a burst of `points` passes and the long-run rate is
 * the policy's. In memory, per gateway process (the same buckets the ratelimit wrapper uses).
 */
export function rateLimits(): (info: GatewayRequestInfo, policy: ResolvedPolicy) => void {
  const maps = new Map<string, BucketMap>();
  return (info, policy) => {
    const limit = policy.rateLimit;
    if (limit === false) return;
    let buckets = maps.get(policy.rateLimitScope);
    if (!buckets) {
      buckets = new BucketMap((limit.points * 1000) / limit.windowMs, limit.points, MAX_KEYS);
      maps.set(policy.rateLimitScope, buckets);
    }
    const key = `${targetKey(info.target)}\n${limit.key ? limit.key(info) : info.ip}`;
    const bucket = buckets.get(key);
    if (bucket.take(0) !== undefined) return;
    throw rateLimited(Math.max(1, Math.ceil(bucket.waitMs() / 1000)));
  };
}

const RETRY_AFTER = Symbol('tsmicro.gateway.retryAfter');

/**
 * The 429 of a request over its limit, carrying its `Retry-After` (seconds) for the reply. Not a
 * subclass: `instanceof` on MicroError types matches every MicroError (see MicroError.is).
 */
function rateLimited(retryAfterSec: number): MicroError {
  const err = MicroError.tooManyRequests(
    GATEWAY_ERROR_ID,
    `rate limit exceeded: retry after ${retryAfterSec}s`,
  );
  Object.defineProperty(err, RETRY_AFTER, { value: retryAfterSec });
  return err;
}

/** The `Retry-After` seconds of a rate-limit error, undefined for any other error. */
export function retryAfterOf(err: unknown): number | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const sec = (err as Record<symbol, unknown>)[RETRY_AFTER];
  return typeof sec === 'number' ? sec : undefined;
}
