import { DEFAULTS } from '../defaults.js';

/**
 * go-micro's backoff (util/backoff since v2.1): `trunc(n^e) × 100 ms` for retry `n`
 * (1 → 100 ms, 2 → 600 ms, 3 → 1.9 s, ...), capped, with jitter so retries from many clients
 * do not arrive in lockstep: the sleep is drawn from [½, 1] of the nominal value.
 */
export function backoffMs(
  attempt: number,
  baseMs: number = DEFAULTS.backoffBaseMs,
  random: () => number = Math.random,
): number {
  if (attempt <= 0) return 0;
  const nominal = Math.min(Math.trunc(attempt ** Math.E) * baseMs, DEFAULTS.backoffMaxMs);
  return nominal * (0.5 + random() / 2);
}
