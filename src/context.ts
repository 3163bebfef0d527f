import { AsyncLocalStorage } from 'node:async_hooks';
import { EMPTY_METADATA, type Metadata } from './metadata.js';

/**
 * What a call carries from hop to hop: an absolute deadline, metadata, and a signal that aborts
 * when the caller gives up or the deadline passes.
 */
export interface Context {
  /** Absolute deadline, epoch milliseconds; `Infinity` when there is none (a stream without a timeout). */
  readonly deadline: number;
  /** Metadata received with the request (or set by the caller), keys lowercased. */
  readonly metadata: Metadata;
  /** Aborts when the caller cancels or the deadline passes. */
  readonly signal: AbortSignal;
}

/** The context a handler receives. */
export interface HandlerContext extends Context {
  /** This server's service name. */
  readonly service: string;
  /** The endpoint being served, `Handler.Method`. */
  readonly endpoint: string;
}

/** Milliseconds left before `ctx.deadline` (never negative). */
export function remaining(ctx: Pick<Context, 'deadline'>, now = Date.now()): number {
  return Math.max(0, ctx.deadline - now);
}

const storage = new AsyncLocalStorage<Context>();

/**
 * The context of the handler this code runs inside, if any. Calls made from inside a handler use
 * it to inherit the remaining deadline, the metadata and the cancellation of the inbound call.
 */
export function currentContext(): Context | undefined {
  return storage.getStore();
}

/** Runs `fn` with `ctx` as the current context (see {@link currentContext}). */
export function runWithContext<T>(ctx: Context, fn: () => T): T {
  return storage.run(ctx, fn);
}

/**
 * Builds a context with `timeoutMs` from now, bounded by `parent`'s deadline, following `parent`'s
 * signal and `extraSignal`. The returned `dispose` clears the deadline timer; call it when the
 * work is done so no timer outlives its call.
 */
export function deriveContext(
  parent: Context | undefined,
  timeoutMs: number,
  metadata: Metadata = parent?.metadata ?? EMPTY_METADATA,
  extraSignal?: AbortSignal,
): { ctx: Context; dispose: () => void } {
  const now = Date.now();
  const deadline = Math.min(now + timeoutMs, parent?.deadline ?? Infinity);
  const controller = new AbortController();
  // An infinite deadline (a stream without a timeout) needs no timer.
  const timer = Number.isFinite(deadline) ? setTimeout(() => controller.abort(deadlineError()), clampTimeout(deadline - now)) : undefined;
  timer?.unref();
  const follow = (s: AbortSignal | undefined): (() => void) => {
    if (!s) return noop;
    if (s.aborted) { controller.abort(s.reason); return noop; }
    const onAbort = (): void => controller.abort(s.reason);
    s.addEventListener('abort', onAbort, { once: true });
    return () => s.removeEventListener('abort', onAbort);
  };
  const unfollowParent = follow(parent?.signal);
  const unfollowExtra = follow(extraSignal);
  return {
    ctx: { deadline, metadata, signal: controller.signal },
    dispose: () => { clearTimeout(timer); unfollowParent(); unfollowExtra(); },
  };
}

/** The reason a deadline-driven abort carries; lets code tell a timeout from a cancel. */
export class DeadlineExceeded extends Error {
  constructor() { super('deadline exceeded'); this.name = 'DeadlineExceeded'; }
}

function deadlineError(): DeadlineExceeded { return new DeadlineExceeded(); }

function noop(): void {}

/** Node timers overflow past 2^31−1 ms and then fire at once; clamp as grpc-js does. */
export function clampTimeout(ms: number): number {
  return Math.min(Math.max(0, ms), 2_147_483_647);
}
