import { remaining, clampTimeout, type DerivedContext } from '../context.js';
import { CLIENT_ERROR_ID, MicroError } from '../errors.js';
import type { Node } from '../registry/registry.js';
import type { Next } from '../selector/selector.js';
import { backoffMs } from './backoff.js';
import { budgetError, sleepWithin, spent, TIMER_SLACK_MS, tooLateToRetry } from './budget.js';
import type { ResolvedCallOptions } from './client.js';
import type { LatencyWindow } from './latency-window.js';
import { isRetryable, type RetryBudget } from './retry.js';
import { adaptiveLimitMs, hedgeDelayMs, type HedgeEvent } from './tail-options.js';

/**
 * The call loop of calls that hedge or have adaptive attempt limits. Calls without either take
 * the plain loop in rpc-client.ts, which this leaves untouched: here every attempt has its own
 * cancel signal and limit, and several may be in flight at once.
 */

/** One call as the loop needs it. */
export interface TailCall {
  readonly service: string;
  readonly endpoint: string;
  readonly options: ResolvedCallOptions;
  readonly call: DerivedContext;
  readonly next: Next;
  /** The endpoint's latency window: read for delays and limits, fed with first attempts. */
  readonly window: LatencyWindow;
  /**
   * One attempt on `node` within the call, limited to `limitMs` (0: the budget alone) and
   * cancelled by `cancel`. Rejects with a MicroError (a neutral 408 once cancelled).
   */
  attempt(node: Node, limitMs: number, cancel: AbortSignal): Promise<unknown>;
  /** Tells the selector how an attempt went (and drops a dead connection). */
  mark(node: Node, err: MicroError | undefined, latencyMs: number): void;
}

/** What the loop needs from its client, the same for all its calls. */
export interface TailDeps {
  readonly retryBudget: RetryBudget | undefined;
  /** The extra-load cap of hedges across the client. */
  readonly hedgeBudget: RetryBudget | undefined;
  readonly onHedge: ((event: HedgeEvent) => void) | undefined;
}

interface Flight {
  readonly node: Node;
  readonly hedge: boolean;
  readonly started: number;
  readonly cancel: AbortController;
  /** Cancelled because another attempt won or the call ended: its outcome is ignored. */
  lost: boolean;
  tookMs: number;
  value: unknown;
  err: MicroError | undefined;
}

/**
 * A 408 without a transport fault: what a cancelled attempt is marked with, which says nothing
 * about its node (it neither counts toward ejection nor clears a fault count).
 */
function cancelled(what: string): MicroError {
  return new MicroError(CLIENT_ERROR_ID, 408, what);
}

/**
 * Runs the call: the first attempt, then a hedge on a node not yet tried each `delay` without an
 * answer (while hedges, the budget and the hedge cap allow), the first success winning and the
 * others cancelled; a non-retryable error ends the call at once; a retryable one waits for the
 * attempts still in flight, and with none left is retried as the plain loop retries.
 */
export async function tailTolerantCall(c: TailCall, d: TailDeps): Promise<unknown> {
  const { call, options, window } = c;
  const hedge = options.hedge;
  // One delay for the whole call: the window moves while it runs, the call's plan should not.
  const delay = hedge && hedgeDelayMs(hedge, window);
  const flights = new Set<Flight>();
  const tried = new Set<string>();
  const settled: Flight[] = [];
  let wake: (() => void) | undefined;
  let first: Flight | undefined;
  let hedges = 0;
  let retries = 0;
  /** When the next hedge is due, epoch ms (the clock of the call's deadline); Infinity: none. */
  let hedgeAt = Infinity;
  if (hedge) d.hedgeBudget?.recordCall();
  d.retryBudget?.recordCall();

  const settle = (f: Flight, value: unknown, err: MicroError | undefined): void => {
    if (f.lost) return;
    f.tookMs = performance.now() - f.started;
    f.value = value;
    f.err = err;
    settled.push(f);
    wake?.();
  };

  const launch = (node: Node, isHedge: boolean): void => {
    const f: Flight = {
      node,
      hedge: isHedge,
      started: performance.now(),
      cancel: new AbortController(),
      lost: false,
      tookMs: 0,
      value: undefined,
      err: undefined,
    };
    first ??= f;
    flights.add(f);
    tried.add(node.id);
    const limit = options.adaptiveAttemptTimeout
      ? adaptiveLimitMs(options.adaptiveAttemptTimeout, window)
      : options.attemptTimeoutMs;
    c.attempt(node, limit, f.cancel.signal).then(
      (value) => settle(f, value, undefined),
      (err: unknown) => settle(f, undefined, MicroError.from(err, CLIENT_ERROR_ID)),
    );
    // Each hedge waits its own delay after the latest attempt, and none is due past the budget.
    const at = Date.now() + (delay ?? Infinity);
    hedgeAt = hedges < (hedge?.maxHedges ?? 0) && at < call.deadline - 1 ? at : Infinity;
  };

  /** Cancels every attempt in flight; their handlers' signals abort. */
  const cancelAll = (why: string): void => {
    for (const f of flights) {
      f.lost = true;
      const took = performance.now() - f.started;
      f.cancel.abort(cancelled(why));
      c.mark(f.node, cancelled(why), took);
      // It would have taken at least this long: kept, so cancelling the slow attempts does not
      // drag the endpoint's percentiles down.
      if (f === first) window.record(took);
    }
    flights.clear();
  };

  /** Sends a hedge if a node not yet tried is left and the extra-load cap allows. */
  const tryHedge = (): void => {
    hedgeAt = Infinity;
    if (spent(call)) return;
    let node: Node;
    try {
      node = c.next({ exclude: tried });
    } catch {
      return; // no node at all now: the attempts in flight go on
    }
    // The picker hands out a tried node only when no other is left; it was counted as picked.
    if (tried.has(node.id) || (d.hedgeBudget && !d.hedgeBudget.tryRetry())) {
      c.mark(node, cancelled('hedge not sent'), NaN);
      return;
    }
    hedges++;
    d.onHedge?.({ service: c.service, endpoint: c.endpoint, kind: 'sent' });
    launch(node, true);
  };

  launch(c.next(), false);
  try {
    for (;;) {
      while (settled.length === 0) {
        const waitMs = hedgeAt - Date.now();
        if (waitMs <= 0) {
          tryHedge();
          continue;
        }
        let timer: NodeJS.Timeout | undefined;
        await new Promise<void>((resolve) => {
          wake = resolve;
          if (hedgeAt !== Infinity) timer = setTimeout(resolve, clampTimeout(waitMs));
        });
        wake = undefined;
        clearTimeout(timer);
      }
      const f = settled.shift()!;
      flights.delete(f);
      if (f === first) window.record(f.tookMs);
      const err = f.err;
      c.mark(f.node, err, f.tookMs);
      if (err === undefined) {
        cancelAll('another attempt answered first');
        if (f.hedge) d.onHedge?.({ service: c.service, endpoint: c.endpoint, kind: 'won' });
        return f.value;
      }
      // A business error is the call's answer, whichever attempt gave it.
      if (!isRetryable(err, options.idempotent)) throw err;
      if (flights.size > 0) continue;
      if (retries >= options.retries || spent(call)) throw err;
      // A node silent for its whole limit was waited on already: the retry goes to another node
      // at once (the retry budget still caps retries), or the limit would save nothing.
      const backoff = err.fault?.reason === 'timeout' ? 0 : backoffMs(retries + 1);
      if (backoff + f.tookMs + TIMER_SLACK_MS >= remaining(call)) throw err;
      if (d.retryBudget && !d.retryBudget.tryRetry()) throw err;
      if (backoff > 0) {
        await sleepWithin(backoff, call.ctx);
        if (tooLateToRetry(call, f.tookMs)) throw err;
      }
      if (spent(call)) throw budgetError(call.ctx, c.service, c.endpoint);
      retries++;
      launch(c.next({ exclude: tried }), false);
    }
  } finally {
    cancelAll('the call ended');
  }
}
