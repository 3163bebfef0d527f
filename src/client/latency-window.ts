/** A high percentile of an endpoint's recent latency, as hedging and adaptive timeouts name it. */
export type LatencyPercentile = 'p90' | 'p95' | 'p99';

/** The percentiles {@link LatencyPercentile} names, as fractions. */
export const PERCENTILES: Readonly<Record<LatencyPercentile, number>> = Object.freeze({
  p90: 0.9,
  p95: 0.95,
  p99: 0.99,
});

/**
 * The last `size` latencies of one service+endpoint, in a ring, with its percentiles read from
 * a sorted copy. Sorting a thousand numbers costs tens of µs, so the copy is sorted again only
 * once a thirty-second of the window (at least one sample) is new: a percentile a few samples
 * behind is as good a delay as an exact one, and a read costs O(1) in between.
 */
export class LatencyWindow {
  private readonly ring: Float64Array;
  private count = 0;
  private head = 0;
  private sorted: Float64Array | undefined;
  private fresh = 0;
  private readonly resortAfter: number;

  constructor(
    size: number,
    private readonly minSamples: number,
  ) {
    this.ring = new Float64Array(size);
    this.resortAfter = Math.max(1, Math.floor(size / 32));
  }

  /** Adds one latency, ms. */
  record(ms: number): void {
    if (!(ms >= 0) || !Number.isFinite(ms)) return;
    this.ring[this.head] = ms;
    this.head = (this.head + 1) % this.ring.length;
    if (this.count < this.ring.length) this.count++;
    this.fresh++;
  }

  /** The `p` percentile, ms; undefined until the window holds `minSamples` latencies. */
  percentile(p: LatencyPercentile): number | undefined {
    if (this.count < this.minSamples || this.count === 0) return undefined;
    if (this.sorted === undefined || this.fresh >= this.resortAfter) {
      this.sorted = this.ring.slice(0, this.count).sort();
      this.fresh = 0;
    }
    // Nearest rank: the smallest sample with at least p of them at or below it.
    const rank = Math.ceil(PERCENTILES[p] * this.sorted.length) - 1;
    return this.sorted[Math.min(this.sorted.length - 1, Math.max(0, rank))];
  }

  /** Latencies held (at most the window's size). */
  get size(): number {
    return this.count;
  }
}

/**
 * One {@link LatencyWindow} per service+endpoint, made on first use. At most `maxKeys` are kept
 * (the oldest made is dropped first), so a client calling endless distinct endpoints stays
 * bounded.
 */
export class LatencyWindows {
  private readonly windows = new Map<string, LatencyWindow>();

  constructor(
    private readonly size: number,
    private readonly minSamples: number,
    private readonly maxKeys: number,
  ) {}

  /** The window of `service` `endpoint`. */
  get(service: string, endpoint: string): LatencyWindow {
    const key = `${service}\u0000${endpoint}`;
    let w = this.windows.get(key);
    if (!w) {
      if (this.windows.size >= this.maxKeys) {
        const oldest = this.windows.keys().next();
        if (!oldest.done) this.windows.delete(oldest.value);
      }
      w = new LatencyWindow(this.size, this.minSamples);
      this.windows.set(key, w);
    }
    return w;
  }
}
