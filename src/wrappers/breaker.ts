import type CircuitBreaker from 'opossum';
import type { CallWrapper, ClientWrapper } from '../client/client.js';
import { WRAPPER_DEFAULTS } from '../defaults.js';
import { MicroError } from '../errors.js';
import { checkFunction, checkInteger, checkNumber } from '../options.js';
import { importPeers } from '../internal/optional-peer.js';
import { endpointKey, type BreakerState } from './shared.js';

// The class under another name: `CircuitBreaker` (type-only) also names opossum's namespace.
const { default: Opossum } = (
  await importPeers('tsmicro/wrappers/breaker', { opossum: () => import('opossum') })
).opossum;

/** The id of the errors an open breaker answers with. */
export const BREAKER_ERROR_ID = 'tsmicro.breaker';

export type { BreakerState } from './shared.js';

/** The call a breaker guards, as its fallback sees it. */
export interface GuardedCall {
  readonly service: string;
  readonly endpoint: string;
  readonly request: unknown;
  /** The node's address, for per-node breakers ({@link CircuitBreakers.call}). */
  readonly address?: string;
}

/** Options for {@link circuitBreaker}. */
export interface BreakerOptions {
  /**
   * Failures, as a percentage of calls in the rolling window, that open a breaker. @defaultValue 50
   */
  errorThresholdPercentage?: number;
  /** Calls in the window before a breaker may open at all. @defaultValue 5 */
  volumeThreshold?: number;
  /**
   * How long an open breaker fails fast before letting one probe call through (half-open), ms.
   * @defaultValue 5000
   */
  resetTimeoutMs?: number;
  /** Length of the rolling statistics window, ms. @defaultValue 10000 */
  rollingWindowMs?: number;
  /**
   * Which errors count as failures. @defaultValue 5xx and 408 answers, and every transport fault;
   * a caller's mistake (4xx) says nothing about the callee's health.
   */
  isFailure?: (err: MicroError) => boolean;
  /**
   * Answers instead of an error when the call fails or the breaker is open (opossum's fallback).
   * Its value is returned to the caller; if it throws, that error is.
   */
  fallback?: (call: GuardedCall, err: MicroError) => unknown;
  /** Told of every state change, e.g. to feed a metrics gauge (`metrics.breakerState`). */
  onStateChange?: (key: string, state: BreakerState) => void;
  /**
   * Any other opossum option, passed through unchanged (`capacity`, `timeout`, `allowWarmUp`, ...).
   * opossum's own 10 s `timeout` is off by default: the call's deadline budget already bounds it.
   */
  opossum?: Omit<CircuitBreaker.Options, 'errorFilter' | 'name' | 'group'>;
}

/** A set of breakers, one per service+endpoint (or per node), with the wrappers that use them. */
export interface CircuitBreakers {
  /**
   * Client wrapper: one breaker per `service.endpoint`, around the whole call (all its retries).
   * An open breaker never reaches node selection, so it never counts against a node's health.
   */
  readonly client: ClientWrapper;
  /**
   * Call wrapper: one breaker per `service.endpoint@address`, around each attempt. Its 503 carries
   * no transport fault, so the selector does not eject the node for it, and the client retries it
   * on another node only when the call is idempotent.
   */
  readonly call: CallWrapper;
  /** The state of the breaker under `key` (`service.endpoint`, or `service.endpoint@address`). */
  state(key: string): BreakerState | undefined;
  /** Stops every breaker's timers. */
  close(): void;
}

type Thunk = () => Promise<unknown>;

/**
 * Circuit breakers on opossum (go-micro's hystrix / gobreaker wrappers). After enough failures a
 * breaker opens and calls fail fast with a 503 `tsmicro.breaker` error without being sent; after
 * `resetTimeoutMs` one probe goes through and its success closes the breaker again.
 */
export function circuitBreaker(opts: BreakerOptions = {}): CircuitBreakers {
  const options: CircuitBreaker.Options = {
    timeout: false,
    ...opts.opossum,
    errorThresholdPercentage:
      checkNumber('errorThresholdPercentage', opts.errorThresholdPercentage, 0) ??
      WRAPPER_DEFAULTS.breakerErrorThresholdPercentage,
    volumeThreshold:
      checkInteger('volumeThreshold', opts.volumeThreshold, 0) ??
      WRAPPER_DEFAULTS.breakerVolumeThreshold,
    resetTimeout:
      checkNumber('resetTimeoutMs', opts.resetTimeoutMs, 1) ??
      WRAPPER_DEFAULTS.breakerResetTimeoutMs,
    rollingCountTimeout:
      checkNumber('rollingWindowMs', opts.rollingWindowMs, 1) ??
      WRAPPER_DEFAULTS.breakerRollingWindowMs,
  };
  const isFailure = checkFunction('isFailure', opts.isFailure) ?? defaultIsFailure;
  const fallback = checkFunction('fallback', opts.fallback);
  const onStateChange = checkFunction('onStateChange', opts.onStateChange);
  const breakers = new Map<string, CircuitBreaker<[Thunk, GuardedCall], unknown>>();

  function breakerFor(key: string): CircuitBreaker<[Thunk, GuardedCall], unknown> {
    const existing = breakers.get(key);
    if (existing) return existing;
    // errorFilter answers "ignore this error?": the inverse of isFailure.
    const b = new Opossum<[Thunk, GuardedCall], unknown>((thunk: Thunk) => thunk(), {
      ...options,
      name: key,
      errorFilter: (err: unknown) => !isFailure(MicroError.from(err, BREAKER_ERROR_ID)),
    });
    if (fallback)
      b.fallback((_thunk: Thunk, call: GuardedCall, err: unknown) =>
        fallback(call, toMicroError(err, call)),
      );
    if (onStateChange) {
      b.on('open', () => onStateChange(key, 'open'));
      b.on('halfOpen', () => onStateChange(key, 'half-open'));
      b.on('close', () => onStateChange(key, 'closed'));
    }
    breakers.set(key, b);
    return b;
  }

  async function guard(key: string, call: GuardedCall, thunk: Thunk): Promise<unknown> {
    try {
      return await breakerFor(key).fire(thunk, call);
    } catch (err) {
      throw toMicroError(err, call);
    }
  }

  return {
    client: (next) => ({
      call<Res, Req>(
        service: string,
        endpoint: string,
        request: Req,
        callOpts?: Parameters<typeof next.call>[3],
      ): Promise<Res> {
        const call: GuardedCall = { service, endpoint, request };
        return guard(endpointKey(service, endpoint), call, () =>
          next.call(service, endpoint, request, callOpts),
        ) as Promise<Res>;
      },
      stream: (service, endpoint, o) => next.stream(service, endpoint, o),
      publish: (topic, message, o) => next.publish(topic, message, o),
    }),
    call: (next) => (ctx, node, req, o) => {
      const call: GuardedCall = {
        service: req.service,
        endpoint: req.endpoint,
        request: req.body,
        address: node.address,
      };
      return guard(`${endpointKey(req.service, req.endpoint)}@${node.address}`, call, () =>
        next(ctx, node, req, o),
      );
    },
    state(key) {
      const b = breakers.get(key);
      if (!b) return undefined;
      return b.opened ? 'open' : b.halfOpen ? 'half-open' : 'closed';
    },
    close() {
      for (const b of breakers.values()) b.shutdown();
      breakers.clear();
    },
  };
}

/**
 * 5xx and 408 answers and transport faults are the callee's trouble; other 4xx are the caller's.
 */
function defaultIsFailure(err: MicroError): boolean {
  return err.fault !== undefined || err.code >= 500 || err.code === 408;
}

/** opossum's own rejections become MicroErrors; the call's errors pass through as they were. */
function toMicroError(err: unknown, call: GuardedCall): MicroError {
  if (MicroError.is(err)) return err;
  const what = `${call.service} ${call.endpoint}${call.address ? ` at ${call.address}` : ''}`;
  if (err instanceof Error && Opossum.isOurError(err)) {
    const code = (err as Error & { code?: string }).code;
    if (code === 'ETIMEDOUT')
      return new MicroError(BREAKER_ERROR_ID, 408, `breaker timeout calling ${what}`, undefined, {
        cause: err,
      });
    if (code === 'ESEMLOCKED')
      return new MicroError(BREAKER_ERROR_ID, 503, `breaker at capacity for ${what}`, undefined, {
        cause: err,
      });
    return new MicroError(BREAKER_ERROR_ID, 503, `circuit breaker open for ${what}`, undefined, {
      cause: err,
    });
  }
  return MicroError.from(err, BREAKER_ERROR_ID);
}
