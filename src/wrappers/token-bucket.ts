/**
 * A token bucket (juju/ratelimit's, which go-micro's ratelimit wrapper uses): `burst` tokens,
 * refilled continuously at `rate` per second. Waiting callers reserve a token in advance (the
 * count goes negative), so waiters are served in order and the long-run rate holds exactly.
 */
export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(
    private readonly rate: number,
    private readonly burst: number,
    now = performance.now(),
  ) {
    this.tokens = burst;
    this.last = now;
  }

  /**
   * Takes one token if it is available within `maxWaitMs`: returns how long the caller must wait
   * for it (0 = now), or undefined, taking nothing, when the wait would be longer.
   */
  take(maxWaitMs: number, now = performance.now()): number | undefined {
    this.refill(now);
    const waitMs = this.tokens >= 1 ? 0 : ((1 - this.tokens) / this.rate) * 1000;
    if (waitMs > maxWaitMs) return undefined;
    this.tokens -= 1;
    return waitMs;
  }

  /** How long until a token is available, ms (0 when one is now); takes nothing. */
  waitMs(now = performance.now()): number {
    this.refill(now);
    return this.tokens >= 1 ? 0 : ((1 - this.tokens) / this.rate) * 1000;
  }

  /** True when the bucket is full: forgetting it changes nothing. */
  full(now = performance.now()): boolean {
    this.refill(now);
    return this.tokens >= this.burst;
  }

  private refill(now: number): void {
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) / 1000) * this.rate);
    this.last = now;
  }
}

/** Buckets by key, created on first use; full (idle) ones are dropped past `maxKeys`. */
export class BucketMap {
  private readonly buckets = new Map<string, TokenBucket>();

  constructor(
    private readonly rate: number,
    private readonly burst: number,
    private readonly maxKeys: number,
  ) {}

  /** The bucket for `key`, made full on first use. */
  get(key: string): TokenBucket {
    let b = this.buckets.get(key);
    if (!b) {
      if (this.buckets.size >= this.maxKeys) this.sweep();
      b = new TokenBucket(this.rate, this.burst);
      this.buckets.set(key, b);
    }
    return b;
  }

  private sweep(): void {
    const now = performance.now();
    for (const [key, b] of this.buckets) if (b.full(now)) this.buckets.delete(key);
  }
}
