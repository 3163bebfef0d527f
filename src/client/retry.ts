import type { MicroError } from '../errors.js';

/**
 * Whether a failed attempt may be tried again. Decided from where the failure came from, never
 * from its text:
 * - the transport proved the request never reached a handler → always safe;
 * - the connection died mid-call, the attempt timed out, or the handler failed with a 500 →
 *   only when the caller said the endpoint is idempotent (it may have run);
 * - anything else a handler answered (4xx, other 5xx) → never: a business error stays an error.
 */
export function isRetryable(err: MicroError, idempotent: boolean): boolean {
  if (err.fault) return err.fault.beforeHandler || idempotent;
  if (!idempotent) return false;
  return err.code === 500 || err.code === 502 || err.code === 503 || err.code === 504;
}

/**
 * How many retries a client may add to its calls: over a sliding window of `windowMs`, at most
 * `ratio` × calls + `minPerSec` × the window's seconds.
 */
export interface RetryBudgetOptions {
  /**
   * Retries allowed per call made, over the window (0.2: retries add at most 20 % load).
   * @defaultValue 0.2
   */
  ratio?: number;
  /** Retries per second always allowed, whatever the ratio. @defaultValue 10 */
  minPerSec?: number;
  /** Window over which calls and retries are counted, ms. @defaultValue 10000 */
  windowMs?: number;
}

/** Number of slots the window is counted in: the window slides by a tenth at a time. */
const SLOTS = 10;

/**
 * A per-client retry budget (Finagle's RetryBudget, gRPC's retry throttling in spirit): over a
 * sliding window, retries ≤ `ratio` × calls + `minPerSec` × window. When a sick system fails
 * every call, retries cannot multiply its load by more than 1 + ratio; a quiet client still
 * retries its rare failures thanks to the floor. Counting is O(1): ten slots per window.
 */
export class RetryBudget {
  private readonly calls = new Array<number>(SLOTS).fill(0);
  private readonly retries = new Array<number>(SLOTS).fill(0);
  private slot = 0;
  private slotStart: number;
  private readonly slotMs: number;

  constructor(
    private readonly ratio: number,
    private readonly minPerSec: number,
    private readonly windowMs: number,
    private readonly now: () => number = Date.now,
  ) {
    this.slotMs = windowMs / SLOTS;
    this.slotStart = now();
  }

  /** A call was made (deposits `ratio` of a retry). */
  recordCall(): void {
    this.advance();
    this.calls[this.slot]++;
  }

  /** Takes one retry from the budget; false when it is spent (then do not retry). */
  tryRetry(): boolean {
    this.advance();
    const allowed = this.ratio * sum(this.calls) + (this.minPerSec * this.windowMs) / 1000;
    if (sum(this.retries) + 1 > allowed) return false;
    this.retries[this.slot]++;
    return true;
  }

  private advance(): void {
    const now = this.now();
    const steps = Math.floor((now - this.slotStart) / this.slotMs);
    if (steps <= 0) return;
    for (let k = 0; k < Math.min(steps, SLOTS); k++) {
      this.slot = (this.slot + 1) % SLOTS;
      this.calls[this.slot] = 0;
      this.retries[this.slot] = 0;
    }
    this.slotStart += steps * this.slotMs;
  }
}

function sum(values: readonly number[]): number {
  let s = 0;
  for (const v of values) s += v;
  return s;
}
