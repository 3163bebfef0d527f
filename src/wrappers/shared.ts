import type { Request } from '../client/client.js';
import { MicroError } from '../errors.js';

/**
 * Small pieces the standard wrappers share. Not exported from the package: each wrapper file is
 * its own subpath export and imports only what it needs from here.
 */

/**
 * Counts attempts per call for a call wrapper. A CallFunc is not told its attempt number, but the
 * client builds the {@link Request} once per call and hands that same object to every attempt
 * (the context is not stable: with `attemptTimeoutMs` each attempt gets a child context), so the
 * request identifies the call. Each wrapper instance owns its own map; entries go with the call.
 */
export function attemptCounter(): (req: Request) => number {
  const attempts = new WeakMap<Request, number>();
  return (req) => {
    const n = (attempts.get(req) ?? 0) + 1;
    attempts.set(req, n);
    return n;
  };
}

/**
 * A breaker's state, as opossum reports it. Here rather than in breaker.ts so that the metrics
 * wrapper, which reports it, does not need opossum's types.
 */
export type BreakerState = 'closed' | 'open' | 'half-open';

/** The go-micro code of anything thrown: a MicroError's code, 500 for anything else. */
export function codeOf(err: unknown): number {
  return MicroError.is(err) ? err.code : 500;
}

/** Seconds since `start` (a `performance.now()` reading). */
export function secondsSince(start: number): number {
  return (performance.now() - start) / 1000;
}

/**
 * `endpoint` with the service name in front, go-micro's breaker/limiter key
 * (`greeter.Greeter.Hello`).
 */
export function endpointKey(service: string, endpoint: string): string {
  return `${service}.${endpoint}`;
}
