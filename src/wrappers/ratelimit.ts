import type { CallOptions, ClientWrapper } from '../client/client.js';
import { currentContext, remaining } from '../context.js';
import { DEFAULTS, WRAPPER_DEFAULTS } from '../defaults.js';
import { InvalidOptionError, MicroError } from '../errors.js';
import { checkInteger, checkNumber, checkString } from '../options.js';
import type { HandlerWrapper } from '../server/server.js';
import { endpointKey } from './shared.js';
import { BucketMap } from './token-bucket.js';

/** The id of the errors a rate limiter answers with (code 429). */
export const RATE_LIMIT_ERROR_ID = 'tsmicro.ratelimit';

/** Options for {@link rateLimiter}. */
export interface RateLimitOptions {
  /** Calls (or handled requests) allowed per second, per service+endpoint. Required. */
  rate: number;
  /**
   * Calls allowed at once after a quiet spell (the bucket's size). @defaultValue `rate` (one
   * second's worth, as go-micro's wrapper)
   */
  burst?: number;
  /**
   * Wait for a token instead of failing fast with 429. A wait that would outlast the call's
   * budget (client) or deadline (server) fails fast anyway. @defaultValue false
   */
  wait?: boolean;
  /**
   * Server side: a metadata key naming the caller (e.g. `x-tenant`); each caller then gets its
   * own bucket per endpoint, so one busy caller cannot starve the others. Callers without the key
   * share one bucket.
   */
  callerKey?: string;
  /** Distinct buckets kept before idle (full) ones are forgotten. @defaultValue 10000 */
  maxKeys?: number;
}

/** Client and server rate limiters built from one set of options. */
export interface RateLimiters {
  /**
   * Limits calls this client makes, per `service.endpoint`. Streams and publishes pass untouched.
   */
  readonly client: ClientWrapper;
  /** Limits requests this server handles, per endpoint (and per caller with `callerKey`). */
  readonly handler: HandlerWrapper;
}

/**
 * Token-bucket rate limiting (go-micro's `ratelimit` wrapper): a call over the rate fails fast
 * with MicroError 429 `tsmicro.ratelimit`, or waits for its turn with `wait: true`.
 */
export function rateLimiter(opts: RateLimitOptions): RateLimiters {
  if (typeof opts !== 'object' || opts === null)
    throw new InvalidOptionError('options', 'expected an object with a rate');
  const rate = checkNumber('rate', opts.rate, Number.MIN_VALUE);
  if (rate === undefined) throw new InvalidOptionError('rate', 'is required (calls per second)');
  const burst = checkNumber('burst', opts.burst, 1) ?? Math.max(1, rate);
  const wait = opts.wait ?? false;
  const callerKey = checkString('callerKey', opts.callerKey)?.toLowerCase();
  const maxKeys = checkInteger('maxKeys', opts.maxKeys, 1) ?? WRAPPER_DEFAULTS.rateLimitMaxKeys;
  const clientBuckets = new BucketMap(rate, burst, maxKeys);
  const serverBuckets = new BucketMap(rate, burst, maxKeys);

  /** Takes a token or throws 429; waits first when allowed to. */
  async function admit(
    buckets: BucketMap,
    key: string,
    maxWaitMs: number,
    signal: AbortSignal | undefined,
    what: string,
  ): Promise<void> {
    const waitMs = buckets.get(key).take(wait ? maxWaitMs : 0);
    if (waitMs === undefined)
      throw MicroError.tooManyRequests(
        RATE_LIMIT_ERROR_ID,
        `rate limit of ${rate}/s exceeded for ${what}`,
      );
    if (waitMs > 0) await sleep(waitMs, signal);
  }

  return {
    client: (next) => ({
      async call<Res, Req>(
        service: string,
        endpoint: string,
        request: Req,
        callOpts?: CallOptions,
      ): Promise<Res> {
        // The wait is bounded by the budget the call will get; it does not shorten that budget.
        const parent = callOpts?.ctx ?? currentContext();
        const budget = Math.min(
          callOpts?.timeoutMs ?? DEFAULTS.requestTimeoutMs,
          parent ? remaining(parent) : Infinity,
        );
        await admit(
          clientBuckets,
          endpointKey(service, endpoint),
          budget,
          callOpts?.signal,
          `${service} ${endpoint}`,
        );
        return next.call<Res, Req>(service, endpoint, request, callOpts);
      },
      stream: (service, endpoint, o) => next.stream(service, endpoint, o),
      publish: (topic, message, o) => next.publish(topic, message, o),
    }),
    handler: (next) => async (req, ctx) => {
      const caller = callerKey === undefined ? '' : `|${ctx.metadata[callerKey] ?? ''}`;
      await admit(
        serverBuckets,
        endpointKey(ctx.service, ctx.endpoint) + caller,
        remaining(ctx),
        ctx.signal,
        ctx.endpoint,
      );
      return next(req, ctx);
    },
  };
}

/** Sleeps `ms`; ends early with a 408 when `signal` aborts (the caller gave up waiting). */
function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  const cancelled = (): MicroError =>
    MicroError.timeout(RATE_LIMIT_ERROR_ID, 'cancelled while waiting for the rate limit');
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(cancelled());
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(cancelled());
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
