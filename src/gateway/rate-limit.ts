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
    throw new RateLimited(Math.max(1, Math.ceil(bucket.waitMs() / 1000)));
  };
}

/** A 429 that knows its `Retry-After`, seconds. */
export class RateLimited extends MicroError {
  readonly retryAfterSec: number;
  constructor(retryAfterSec: number) {
    super(GATEWAY_ERROR_ID, 429, `rate limit exceeded: retry after ${retryAfterSec}s`);
    this.retryAfterSec = retryAfterSec;
  }
}
