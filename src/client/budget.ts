import {
  DeadlineExceeded,
  clampTimeout,
  deriveContext,
  remaining,
  type Context,
  type DerivedContext,
} from '../context.js';
import { CLIENT_ERROR_ID, MicroError } from '../errors.js';

/**
 * The deadline side of a call: when its budget counts as spent, the 408 it then fails with, the
 * per-attempt limit inside it, and waiting that never outlasts it.
 */

/** How late a backoff timer may fire under load, ms: room kept for it when deciding to retry. */
export const TIMER_SLACK_MS = 5;

/**
 * After a backoff: whether the call ends with the error it was retrying instead of another
 * attempt. A timer that fired late (a loaded machine) may leave the next attempt less time than
 * the last one took, or none: it would only turn that error into a 408. A caller's cancellation
 * is not this case; the caller hears that it cancelled.
 */
export function tooLateToRetry(ctx: DerivedContext, lastTookMs: number): boolean {
  if (ctx.aborted && !(ctx.signal().reason instanceof DeadlineExceeded)) return false;
  return remaining(ctx) < lastTookMs + TIMER_SLACK_MS;
}

/**
 * True once the call may start nothing more: cancelled, or its deadline reached. The last
 * millisecond counts as spent because the budget travels in whole milliseconds, so the peer's
 * (or grpc-js's) timer may fire up to 1 ms before ours.
 */
export function spent(ctx: DerivedContext): boolean {
  return ctx.aborted || remaining(ctx) <= 1;
}

/** 408 for a spent budget, or for a cancelled call. */
export function budgetError(
  ctx: Context,
  service: string,
  endpoint: string,
  cause?: unknown,
): MicroError {
  const what = endpoint ? `${service} ${endpoint}` : service;
  if (ctx.signal.reason instanceof DeadlineExceeded || remaining(ctx) <= 1) {
    return new MicroError(
      CLIENT_ERROR_ID,
      408,
      `call timeout: deadline exceeded calling ${what}`,
      undefined,
      { cause },
    );
  }
  return new MicroError(CLIENT_ERROR_ID, 408, `call cancelled: ${what}`, undefined, { cause });
}

/**
 * The context of one attempt: the call's, or a child cut at `attemptTimeoutMs` when that is
 * sooner (the transport then carries the shorter deadline to the peer).
 */
export function attemptContext(call: DerivedContext, attemptTimeoutMs: number): DerivedContext {
  if (attemptTimeoutMs <= 0 || attemptTimeoutMs >= remaining(call)) return call;
  return deriveContext(call.ctx, attemptTimeoutMs, call.ctx.metadata);
}

/** The transport fault an attempt fails with when its own limit (not the call's) ran out. */
export function attemptTimeoutError(node: string, ms: number, cause: unknown): MicroError {
  return new MicroError(
    CLIENT_ERROR_ID,
    408,
    `attempt timeout: no answer from ${node} within ${ms} ms`,
    undefined,
    {
      cause,
      fault: { beforeHandler: false, reason: 'timeout' },
    },
  );
}

/** Settles with `promise`, or rejects as soon as `signal` aborts (wrappers may not watch it). */
export function raceSignal<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  // An abort's reason is whatever the aborter chose (`any`, by the platform's contract): it is
  // passed on untouched, and the caller keeps it as the cause of the 408 the call ends with.
  if (signal.aborted) {
    promise.catch(() => {});
    // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- see above
    return Promise.reject(signal.reason);
  }
  return new Promise<T>((resolve, reject) => {
    // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- see above
    const onAbort = (): void => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    // Two reactions on one promise run in the same tick, in order: the listener is gone before
    // the outcome passes on, untouched.
    const cleanup = (): void => signal.removeEventListener('abort', onAbort);
    promise.then(cleanup, cleanup);
    promise.then(resolve, reject);
  });
}

/**
 * Settles with `promise`, or rejects with a {@link DeadlineExceeded} once `deadline` passes:
 * {@link raceSignal} for a context nothing but its deadline can abort, without making its signal.
 */
export function raceDeadline<T>(promise: Promise<T>, deadline: number): Promise<T> {
  if (!Number.isFinite(deadline)) return promise;
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(rejectAtDeadline, clampTimeout(deadline - Date.now()), reject);
    // Two reactions on one promise run in the same tick, in order (as in raceSignal).
    const cleanup = (): void => clearTimeout(timer);
    promise.then(cleanup, cleanup);
    promise.then(resolve, reject);
  });
}

function rejectAtDeadline(reject: (err: Error) => void): void {
  reject(new DeadlineExceeded());
}

/** Sleeps `ms`, cut short when the call's budget ends. */
export function sleepWithin(ms: number, ctx: Context): Promise<void> {
  const wait = Math.min(ms, remaining(ctx));
  if (wait <= 0) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(done, wait);
    function done(): void {
      clearTimeout(timer);
      ctx.signal.removeEventListener('abort', done);
      resolve();
    }
    ctx.signal.addEventListener('abort', done, { once: true });
  });
}
