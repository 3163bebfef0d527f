/**
 * An abort signal made on first read. A server call's handler usually never looks at its
 * signal, and Node's AbortController (an EventTarget) costs microseconds to make; this holds
 * the abort until someone asks. Read after {@link abort}, the signal is already aborted with the
 * same reason.
 */
export class LazyAbort {
  private controller: AbortController | undefined;
  private reason: unknown;
  /** True once {@link abort} was called. */
  aborted = false;

  get signal(): AbortSignal {
    if (!this.controller) {
      this.controller = new AbortController();
      if (this.aborted) this.controller.abort(this.reason);
      else this.armed();
    }
    return this.controller.signal;
  }

  /** Aborts the signal, now or once it is made. Later calls do nothing. */
  abort(reason: unknown): void {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = reason;
    this.controller?.abort(reason);
  }

  /** Called once when the signal is first made on a live call: start what may abort it later. */
  protected armed(): void {}
}
