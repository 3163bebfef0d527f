import { AsyncLocalStorage } from 'node:async_hooks';
import { EMPTY_METADATA, type Metadata } from './metadata.js';

/**
 * What a call carries from hop to hop: an absolute deadline, metadata, and a signal that aborts
 * when the caller gives up or the deadline passes.
 */
export interface Context {
  /**
   * Absolute deadline, epoch milliseconds; `Infinity` when there is none (a stream without a
   * timeout).
   */
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

/** Runs `fn(...args)` with `ctx` as the current context (see {@link currentContext}). */
export function runWithContext<A extends unknown[], T>(
  ctx: Context,
  fn: (...args: A) => T,
  ...args: A
): T {
  return storage.run(ctx, fn, ...args);
}

/**
 * A context with `timeoutMs` from now, bounded by `parent`'s deadline, following `parent`'s
 * signal and `extraSignal`. Its signal is made on first read: most calls end without anyone
 * looking at it, and Node's AbortController (an EventTarget), its deadline timer and the
 * listeners on the parent cost several µs per call. Read before the deadline, the signal then
 * aborts exactly as an eagerly made one would; read after, it is already aborted.
 * Call {@link DerivedContext.dispose} when the work is done so no timer outlives its call.
 */
export function deriveContext(
  parent: Context | undefined,
  timeoutMs: number,
  metadata: Metadata = parent?.metadata ?? EMPTY_METADATA,
  extraSignal?: AbortSignal,
): DerivedContext {
  return new DerivedContext(
    parent,
    Math.min(Date.now() + timeoutMs, parent?.deadline ?? Infinity),
    metadata,
    extraSignal,
  );
}

/**
 * A context made by {@link deriveContext}, with what its maker needs to know without making its
 * signal.
 */
export class DerivedContext {
  private made: Context | undefined;
  private controller: AbortController | undefined;
  private timer: NodeJS.Timeout | undefined;
  private onParentAbort: (() => void) | undefined;
  private onExtraAbort: (() => void) | undefined;
  private disposed = false;

  constructor(
    private readonly parent: Context | undefined,
    readonly deadline: number,
    readonly metadata: Metadata,
    private readonly extra: AbortSignal | undefined,
  ) {}

  /**
   * The context to hand on, made on first use (an object with a getter costs about as much as
   * the rest of a call's bookkeeping). `signal` is an own getter, so spreading the context keeps
   * it.
   */
  get ctx(): Context {
    if (this.made) return this.made;
    const signal = (): AbortSignal => this.signal();
    this.made = {
      deadline: this.deadline,
      metadata: this.metadata,
      get signal() {
        return signal();
      },
    };
    return this.made;
  }

  /**
   * True when something besides the deadline can abort the context (a parent or an extra
   * signal). A transport enforces the deadline itself, so when this is false it needs no signal.
   */
  get cancellable(): boolean {
    return this.parent !== undefined || this.extra !== undefined;
  }

  /** Whether the signal is (or would be, once made) aborted, without making it. */
  get aborted(): boolean {
    if (this.controller) return this.controller.signal.aborted;
    return (
      (this.parent?.signal.aborted ?? false) ||
      (this.extra?.aborted ?? false) ||
      (!this.disposed && Date.now() >= this.deadline)
    );
  }

  /** The signal, made and armed on first read. */
  signal(): AbortSignal {
    if (this.controller) return this.controller.signal;
    const controller = new AbortController();
    this.controller = controller;
    const parentSignal = this.parent?.signal;
    if (parentSignal?.aborted) controller.abort(parentSignal.reason);
    else if (this.extra?.aborted) controller.abort(this.extra.reason);
    else if (this.disposed) return controller.signal;
    else if (Date.now() >= this.deadline) controller.abort(deadlineError());
    else {
      // An infinite deadline (a stream without a timeout) needs no timer.
      if (Number.isFinite(this.deadline)) {
        this.timer = setTimeout(
          abortAtDeadline,
          clampTimeout(this.deadline - Date.now()),
          controller,
        );
        this.timer.unref();
      }
      if (parentSignal) {
        this.onParentAbort = () => controller.abort(parentSignal.reason);
        parentSignal.addEventListener('abort', this.onParentAbort, { once: true });
      }
      const extra = this.extra;
      if (extra) {
        this.onExtraAbort = () => controller.abort(extra.reason);
        extra.addEventListener('abort', this.onExtraAbort, { once: true });
      }
    }
    return controller.signal;
  }

  /** Clears the deadline timer and the listeners, if the signal was ever made. */
  dispose(): void {
    this.disposed = true;
    if (!this.controller) return;
    clearTimeout(this.timer);
    if (this.onParentAbort) this.parent!.signal.removeEventListener('abort', this.onParentAbort);
    if (this.onExtraAbort) this.extra!.removeEventListener('abort', this.onExtraAbort);
  }
}

function abortAtDeadline(controller: AbortController): void {
  controller.abort(deadlineError());
}

/** The reason a deadline-driven abort carries; lets code tell a timeout from a cancel. */
export class DeadlineExceeded extends Error {
  constructor() {
    super('deadline exceeded');
    this.name = 'DeadlineExceeded';
  }
}

function deadlineError(): DeadlineExceeded {
  return new DeadlineExceeded();
}

/** Node timers overflow past 2^31−1 ms and then fire at once; clamp as grpc-js does. */
export function clampTimeout(ms: number): number {
  return Math.min(Math.max(0, ms), 2_147_483_647);
}
