/**
 * What the health surfaces say, in go-micro's shape (go-micro.dev/v5/health `Response`): a tool
 * that reads a go-micro service's `/health` body reads a tsmicro one's. tsmicro adds `critical`
 * to each check and the node's identity and state to `info`.
 */

/** `up` or `down`, as go-micro's health package writes it. */
export type HealthStatus = 'up' | 'down';

/** One check in a {@link HealthReport}. */
export interface HealthCheckReport {
  readonly name: string;
  /**
   * `up` when its last run passed; `down` when it failed. A check added while the service runs
   * is `up` until its first run ends (it has not failed yet).
   */
  readonly status: HealthStatus;
  /** Whether a failure makes the node not ready. */
  readonly critical: boolean;
  /** Why the last run failed; absent when it passed. */
  readonly error?: string;
  /** How long the last run took, in nanoseconds (go-micro's `time.Duration` in JSON). */
  readonly duration: number;
}

/** The health of one node, as `/health` and `/health/ready` answer it. */
export interface HealthReport {
  /** `up` when the node is ready: started, not stopping, and every critical check passes. */
  readonly status: HealthStatus;
  /** Every check, built-in ones included, in the order they were added. */
  readonly checks: readonly HealthCheckReport[];
  /**
   * `service`, `version`, `node` (the node id) and `state`: `starting`, `serving`, `stopping`
   * or `stopped`.
   */
  readonly info: Readonly<Record<string, string>>;
}
