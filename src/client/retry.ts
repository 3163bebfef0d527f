import type { MicroError } from '../errors.js';

/**
 * Whether a failed attempt may be tried again. Decided from where the failure came from, never
 * from its text:
 * - the transport proved the request never reached a handler → always safe;
 * - the connection died mid-call, the attempt timed out, or the handler failed with a 500 →
 *   only when the caller said the endpoint is idempotent (it may have run);
 * - anything else a handler answered (4xx, other 5xx) → never: a business error stays an error.
 */
export function isRetryable(err: MicroError, idempotent: boolean): boolean {
  if (err.fault) return err.fault.beforeHandler || idempotent;
  if (!idempotent) return false;
  return err.code === 500 || err.code === 502 || err.code === 503 || err.code === 504;
}
