import { DeadlineExceeded } from '../context.js';
import { MicroError } from '../errors.js';
import { nameHop } from '../internal/hop.js';
import type { Logger } from '../logger.js';

/**
 * What a server answers when a handler throws, and what it logs.
 *
 * - A MicroError is an answer the handler chose (or one a call it made returned): sent as it is,
 *   with the failed hop named when it came from a downstream call (see `internal/hop.ts`), and
 *   not logged: it is not a crash.
 * - Anything else is a crash, as a panic is in go-micro (which logs it with its stack): answered
 *   500 under the service's id with the message, and logged at `error` with the stack — the first
 *   per endpoint in each `intervalMs`, the others counted and reported with the next one logged,
 *   so a handler that fails on every call cannot flood the log. An abort by the call's own
 *   deadline or cancellation is not a crash either.
 */
export class HandlerErrors {
  private readonly windows = new Map<string, { until: number; suppressed: number }>();

  constructor(
    private readonly service: string,
    private readonly logger: Logger,
    /** Window per endpoint, ms; 0 logs every crash; undefined logs none. */
    private readonly intervalMs: number | undefined,
  ) {}

  /** The MicroError the caller gets for `err`, thrown by the handler of `endpoint`. */
  answer(err: unknown, endpoint: string): MicroError {
    if (MicroError.is(err)) return nameHop(err);
    if (!isAbort(err)) this.crashed(err, endpoint);
    return MicroError.from(err, this.service);
  }

  private crashed(err: unknown, endpoint: string): void {
    if (this.intervalMs === undefined) return;
    const now = Date.now();
    const window = this.windows.get(endpoint);
    if (window && now < window.until) {
      window.suppressed++;
      return;
    }
    const suppressed = window?.suppressed ?? 0;
    this.windows.set(endpoint, { until: now + this.intervalMs, suppressed: 0 });
    this.logger.error(
      {
        endpoint,
        err: err instanceof Error ? err : new Error(`non-Error thrown: ${String(err)}`),
        ...(suppressed > 0 ? { suppressed } : {}),
      },
      suppressed > 0
        ? `handler ${endpoint} crashed (${suppressed} more since the last one logged)`
        : `handler ${endpoint} crashed`,
    );
  }
}

function isAbort(err: unknown): boolean {
  return err instanceof DeadlineExceeded || (err instanceof Error && err.name === 'AbortError');
}
