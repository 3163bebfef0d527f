import { clampTimeout } from '../context.js';
import { DEFAULTS } from '../defaults.js';
import { InvalidOptionError } from '../errors.js';
import { checkBoolean, checkInteger, checkString } from '../options.js';

/**
 * One health check, as `service.health.addCheck` takes it. It passes when `check` returns (or
 * resolves); it fails when `check` throws, rejects, or has not settled after `timeoutMs`.
 *
 * @example
 * ```ts
 * service.health.addCheck({
 *   name: 'postgres',
 *   critical: true,
 *   timeoutMs: 1_000,
 *   intervalMs: 5_000,
 *   check: (signal) => pool.query({ text: 'SELECT 1', signal }),
 * });
 * ```
 */
export interface HealthCheck {
  /** Names the check in every report; unique per service (letters, digits, `.`, `-`, `_`). */
  name: string;
  /**
   * The probe. `signal` aborts when `timeoutMs` has passed, so a check that can be cancelled
   * stops its work instead of piling up. Its return value is ignored.
   */
  check: (signal: AbortSignal) => unknown;
  /**
   * Whether a failure makes the node not ready: it leaves the registry, grpc.health.v1 says
   * NOT_SERVING and `/health/ready` answers 503 until the check passes again. A non-critical
   * check is only reported. @defaultValue true (go-micro's `health.Register`)
   */
  critical?: boolean;
  /** How long one run may take before it counts as failed, ms. @defaultValue `DEFAULTS.healthCheckTimeoutMs` (5000) */
  timeoutMs?: number;
  /**
   * Pause between the end of one run and the start of the next, ms: a failing critical check
   * turns the node not ready at most this (plus `timeoutMs`) after it started failing.
   * @defaultValue `DEFAULTS.healthCheckIntervalMs` (10000)
   */
  intervalMs?: number;
}

/** A check with its defaults filled in. */
export interface ResolvedCheck {
  readonly name: string;
  readonly check: (signal: AbortSignal) => unknown;
  readonly critical: boolean;
  readonly timeoutMs: number;
  readonly intervalMs: number;
}

/** The outcome of one run. */
export interface CheckOutcome {
  /** Undefined when the check passed; the failure's message otherwise. */
  readonly error: string | undefined;
  readonly durationMs: number;
}

/** Validates `c` (InvalidOptionError naming `path`.field) and fills in the defaults. */
export function resolveCheck(path: string, c: HealthCheck): ResolvedCheck {
  if (typeof c !== 'object' || c === null)
    throw new InvalidOptionError(path, 'expected { name, check, critical?, timeoutMs?, ... }');
  const name = checkString(`${path}.name`, c.name);
  if (!name || !/^[\w.-]+$/.test(name))
    throw new InvalidOptionError(
      `${path}.name`,
      `expected letters, digits, ".", "-" or "_", got ${JSON.stringify(c.name)}`,
    );
  if (typeof c.check !== 'function')
    throw new InvalidOptionError(`${path}.check`, 'expected a function');
  return {
    name,
    check: c.check,
    critical: checkBoolean(`${path}.critical`, c.critical) ?? true,
    timeoutMs: checkInteger(`${path}.timeoutMs`, c.timeoutMs, 1) ?? DEFAULTS.healthCheckTimeoutMs,
    intervalMs:
      checkInteger(`${path}.intervalMs`, c.intervalMs, 1) ?? DEFAULTS.healthCheckIntervalMs,
  };
}

/**
 * Runs `c` once under its timeout. Never rejects: whatever the check does — throw, reject, hang
 * — becomes an outcome.
 */
export async function runCheck(c: ResolvedCheck): Promise<CheckOutcome> {
  const started = performance.now();
  const ac = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const err = new Error(`timed out after ${c.timeoutMs} ms`);
      ac.abort(err);
      reject(err);
    }, clampTimeout(c.timeoutMs));
  });
  try {
    await Promise.race([Promise.resolve().then(() => c.check(ac.signal)), timedOut]);
    return { error: undefined, durationMs: performance.now() - started };
  } catch (err) {
    return { error: describe(err), durationMs: performance.now() - started };
  } finally {
    clearTimeout(timer);
  }
}

function describe(err: unknown): string {
  if (err instanceof Error) return err.message || err.name;
  return String(err);
}
