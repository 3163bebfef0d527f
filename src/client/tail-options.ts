import { DEFAULTS } from '../defaults.js';
import { InvalidOptionError } from '../errors.js';
import { checkInteger, checkNumber } from '../options.js';
import { PERCENTILES, type LatencyPercentile, type LatencyWindow } from './latency-window.js';

/**
 * The options that cut a call's tail latency — hedged requests and adaptive attempt timeouts —
 * their checks, and the attempt limit an adaptive timeout gives.
 */

/**
 * Hedged requests ("The Tail at Scale", gRPC's hedging policy, Finagle's backup requests): when
 * an attempt has not answered after `delayMs`, the same request goes to a node not yet tried;
 * the first success wins and the others are cancelled (their handlers' `ctx.signal` aborts).
 * Only idempotent calls are hedged.
 */
export interface HedgeOptions {
  /**
   * How long to wait for an answer before each hedge: a number of ms, or a percentile of the
   * endpoint's recent attempt latency (`p95`: the slowest 5 % of calls get a hedge). With a
   * percentile, calls are not hedged until the endpoint's window holds enough latencies (see
   * {@link LatencyWindowOptions.minSamples}).
   */
  delayMs: number | LatencyPercentile;
  /** Most hedges sent per call (each after another `delayMs`). @defaultValue 1 */
  maxHedges?: number;
}

/**
 * An attempt limit that follows the endpoint's observed latency: `multiplier` × its `percentile`,
 * between `minMs` and `maxMs`. A node silent that long fails with a transport timeout fault, as a
 * fixed `attemptTimeoutMs` does: it counts against the node for ejection, and an idempotent call
 * moves on to another node while its budget lasts.
 */
export interface AdaptiveTimeoutOptions {
  /**
   * Which percentile the limit is a multiple of. Pick one above the share of calls a sick node
   * may stall: timed-out attempts count in the window at the time they had run, so if more than
   * 1 % of attempts stall, `p99` lands on the limit itself and pushes it up to `maxMs`.
   * @defaultValue 'p99'
   */
  percentile?: LatencyPercentile;
  /** The limit as a multiple of the percentile. @defaultValue 2 */
  multiplier?: number;
  /**
   * Floor of the limit, ms: a client's own event loop pauses (GC, a busy host) must not time out
   * a node that answered in time; on a loaded 2-core machine, pauses of 10 ms were common.
   * @defaultValue 20
   */
  minMs?: number;
  /**
   * Ceiling of the limit, ms; also the limit until the window holds enough latencies.
   * @defaultValue none: the call's budget
   */
  maxMs?: number;
}

/** The rolling latency windows hedging and adaptive timeouts read, one per service+endpoint. */
export interface LatencyWindowOptions {
  /** Latest attempt latencies kept per service+endpoint. @defaultValue 1000 */
  size?: number;
  /** Latencies needed before a percentile is used. @defaultValue 20 */
  minSamples?: number;
}

/** A hedge sent, or a hedge that won its call, as `ClientOptions.onHedge` reports. */
export interface HedgeEvent {
  readonly service: string;
  readonly endpoint: string;
  /** `sent`: a hedge went out; `won`: a hedge gave the call its answer. */
  readonly kind: 'sent' | 'won';
}

/** {@link HedgeOptions} checked, with defaults applied. */
export interface ResolvedHedge {
  readonly delayMs: number | LatencyPercentile;
  readonly maxHedges: number;
}

/** {@link AdaptiveTimeoutOptions} checked, with defaults applied. */
export interface ResolvedAdaptiveTimeout {
  readonly percentile: LatencyPercentile;
  readonly multiplier: number;
  readonly minMs: number;
  readonly maxMs: number;
}

const PERCENTILE_NAMES = Object.keys(PERCENTILES) as LatencyPercentile[];

function isPercentile(value: unknown): value is LatencyPercentile {
  return typeof value === 'string' && (PERCENTILE_NAMES as string[]).includes(value);
}

/** Checks hedge options named `at`; undefined or false (hedging off) give undefined. */
export function checkHedge(at: string, value: unknown): ResolvedHedge | undefined {
  if (value === undefined || value === false) return undefined;
  if (typeof value !== 'object' || value === null)
    throw new InvalidOptionError(at, 'expected { delayMs, maxHedges? } or false');
  const o = value as Record<string, unknown>;
  const delay = o.delayMs;
  if (!isPercentile(delay) && checkNumber(`${at}.delayMs`, delay, 0) === undefined)
    throw new InvalidOptionError(
      `${at}.delayMs`,
      `expected ms or one of ${PERCENTILE_NAMES.join(', ')}`,
    );
  return Object.freeze({
    delayMs: delay as number | LatencyPercentile,
    maxHedges: checkInteger(`${at}.maxHedges`, o.maxHedges, 1) ?? 1,
  });
}

/** Checks adaptive timeout options named `at`; undefined or false (off) give undefined. */
export function checkAdaptiveTimeout(
  at: string,
  value: unknown,
): ResolvedAdaptiveTimeout | undefined {
  if (value === undefined || value === false) return undefined;
  if (typeof value !== 'object' || value === null)
    throw new InvalidOptionError(
      at,
      'expected { percentile?, multiplier?, minMs?, maxMs? } or false',
    );
  const o = value as Record<string, unknown>;
  if (o.percentile !== undefined && !isPercentile(o.percentile))
    throw new InvalidOptionError(
      `${at}.percentile`,
      `expected one of ${PERCENTILE_NAMES.join(', ')}`,
    );
  const minMs = checkNumber(`${at}.minMs`, o.minMs, 0) ?? DEFAULTS.adaptiveTimeoutMinMs;
  const maxMs = checkNumber(`${at}.maxMs`, o.maxMs, 0) ?? Infinity;
  if (maxMs < minMs) throw new InvalidOptionError(`${at}.maxMs`, `must be ≥ minMs (${minMs})`);
  return Object.freeze({
    percentile: o.percentile ?? 'p99',
    multiplier: checkNumber(`${at}.multiplier`, o.multiplier, Number.MIN_VALUE) ?? 2,
    minMs,
    maxMs,
  });
}

/**
 * The attempt limit `adaptive` gives from `window` now, ms; 0 (none: the call's budget) while the
 * window is too thin and no ceiling is set.
 */
export function adaptiveLimitMs(adaptive: ResolvedAdaptiveTimeout, window: LatencyWindow): number {
  const p = window.percentile(adaptive.percentile);
  const ms =
    p === undefined
      ? adaptive.maxMs
      : Math.min(adaptive.maxMs, Math.max(adaptive.minMs, adaptive.multiplier * p));
  return Number.isFinite(ms) ? ms : 0;
}

/** The delay before a hedge, ms, or undefined when none is to be sent (the window is too thin). */
export function hedgeDelayMs(hedge: ResolvedHedge, window: LatencyWindow): number | undefined {
  return typeof hedge.delayMs === 'number' ? hedge.delayMs : window.percentile(hedge.delayMs);
}
