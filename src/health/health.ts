import { InvalidOptionError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { ServingStatus, ServingStatusSource } from '../transport/transport.js';
import { resolveCheck, runCheck, type HealthCheck, type ResolvedCheck } from './check.js';
import type { HealthCheckReport, HealthReport } from './report.js';

/**
 * A service's health: the checks it runs and what follows from them.
 *
 * - **live** — the process serves: from the end of `start()` until `stop()` has finished,
 *   draining included.
 * - **ready** — live, not stopping, and every critical check passes.
 *
 * The same state is answered on every surface the service has: grpc.health.v1 on its gRPC port
 * (`''` and the service name: SERVING while ready), HTTP `/health`, `/health/live` and
 * `/health/ready` on the port `health.httpAddress` opts into, and the registry, which lists the
 * node only while it is ready. A node that is not ready keeps answering every call it gets, so
 * callers whose cache still lists it lose nothing while they learn that it left.
 */
export interface Health {
  /**
   * Adds a check and starts running it (at once when the service runs, else from `start()`, which
   * waits for every check's first run before the node registers). Throws InvalidOptionError on
   * a malformed check or a name already used.
   */
  addCheck(check: HealthCheck): void;
  /** Removes check `name` (false when there is none); readiness no longer depends on it. */
  removeCheck(name: string): boolean;
  /** Whether the process serves (see {@link Health}). */
  readonly live: boolean;
  /** Whether the node is ready for calls (see {@link Health}). */
  readonly ready: boolean;
  /** The state now, as `/health` answers it. */
  report(): HealthReport;
  /**
   * Calls `listener` whenever readiness changes, with the report at that moment; returns what
   * stops the calls.
   */
  onChange(listener: (report: HealthReport) => void): () => void;
  /** Where the HTTP surface listens (`host:port`), once started with `health.httpAddress`. */
  readonly httpAddress: string | undefined;
}

/** Who the model reports for. */
export interface HealthIdentity {
  readonly service: string;
  readonly version: string;
  readonly nodeId: string;
}

type State = 'starting' | 'serving' | 'stopping' | 'stopped';

interface Entry {
  readonly c: ResolvedCheck;
  /** The last outcome; undefined before the first run ends. */
  error: string | undefined;
  ran: boolean;
  durationMs: number;
  timer: NodeJS.Timeout | undefined;
}

/**
 * The model behind {@link Health}: runs each check on its interval, keeps the last outcome, and
 * tells the surfaces (a {@link ServingStatusSource} for transports, `onChange` for the registry
 * and the server) when readiness flips.
 */
export class HealthModel implements Health, ServingStatusSource {
  private readonly entries = new Map<string, Entry>();
  private readonly servingListeners = new Set<(name: string, status: ServingStatus) => void>();
  private readonly changeListeners = new Set<(report: HealthReport) => void>();
  private state: State = 'starting';
  private wasReady = false;
  /** Set by the server once its HTTP surface listens. */
  httpAddress: string | undefined;

  constructor(
    private readonly id: HealthIdentity,
    private readonly logger: Logger,
  ) {}

  addCheck(check: HealthCheck): void {
    const c = resolveCheck('health.addCheck', check);
    if (this.entries.has(c.name))
      throw new InvalidOptionError('health.addCheck.name', `a check named ${c.name} exists`);
    const entry: Entry = { c, error: undefined, ran: false, durationMs: 0, timer: undefined };
    this.entries.set(c.name, entry);
    if (this.state === 'serving' || this.state === 'stopping') void this.run(entry);
  }

  removeCheck(name: string): boolean {
    const entry = this.entries.get(name);
    if (!entry) return false;
    clearTimeout(entry.timer);
    this.entries.delete(name);
    this.settle();
    return true;
  }

  get live(): boolean {
    return this.state === 'serving' || this.state === 'stopping';
  }

  get ready(): boolean {
    if (this.state !== 'serving') return false;
    for (const e of this.entries.values()) if (e.c.critical && e.error !== undefined) return false;
    return true;
  }

  report(): HealthReport {
    const checks: HealthCheckReport[] = [...this.entries.values()].map((e) => ({
      name: e.c.name,
      status: e.error === undefined ? 'up' : 'down',
      critical: e.c.critical,
      ...(e.error !== undefined ? { error: e.error } : {}),
      duration: Math.round(e.durationMs * 1e6),
    }));
    return {
      status: this.ready ? 'up' : 'down',
      checks,
      info: {
        service: this.id.service,
        version: this.id.version,
        node: this.id.nodeId,
        state: this.state,
      },
    };
  }

  onChange(listener: (report: HealthReport) => void): () => void {
    this.changeListeners.add(listener);
    return () => this.changeListeners.delete(listener);
  }

  servingStatus(): ReadonlyMap<string, ServingStatus> {
    const status: ServingStatus = this.ready ? 'SERVING' : 'NOT_SERVING';
    return new Map([
      ['', status],
      [this.id.service, status],
    ]);
  }

  onServingStatus(listener: (name: string, status: ServingStatus) => void): () => void {
    this.servingListeners.add(listener);
    return () => this.servingListeners.delete(listener);
  }

  /**
   * Runs every check once (each bounded by its timeout), then becomes live, and ready when the
   * critical ones passed; from then on each check runs on its interval.
   */
  async start(): Promise<void> {
    await Promise.all([...this.entries.values()].map((e) => this.run(e, false)));
    this.state = 'serving';
    this.settle();
  }

  /** Stopping: not ready from now on (every surface says so), still live while draining. */
  beginStop(): void {
    if (this.state !== 'serving') return;
    this.state = 'stopping';
    this.settle();
  }

  /** Stopped: no more runs; neither live nor ready. */
  close(): void {
    this.state = 'stopped';
    for (const e of this.entries.values()) clearTimeout(e.timer);
    this.settle();
  }

  private async run(entry: Entry, settle = true): Promise<void> {
    const outcome = await runCheck(entry.c);
    // Removed meanwhile (or replaced by a check of the same name), or the service stopped.
    if (this.entries.get(entry.c.name) !== entry || this.state === 'stopped') return;
    const was = entry.ran ? entry.error : undefined;
    entry.ran = true;
    entry.error = outcome.error;
    entry.durationMs = outcome.durationMs;
    if (outcome.error !== undefined && was === undefined)
      this.logger.warn(
        { check: entry.c.name, critical: entry.c.critical, error: outcome.error },
        'health check failing',
      );
    else if (outcome.error === undefined && was !== undefined)
      this.logger.info({ check: entry.c.name }, 'health check passing again');
    entry.timer = setTimeout(() => void this.run(entry), entry.c.intervalMs);
    entry.timer.unref();
    if (settle) this.settle();
  }

  /** Tells every surface when readiness changed since they last heard. */
  private settle(): void {
    const ready = this.ready;
    if (ready === this.wasReady) return;
    this.wasReady = ready;
    const report = this.report();
    if (this.state === 'serving') {
      if (ready) this.logger.info({}, 'ready');
      else
        this.logger.warn(
          { failing: report.checks.filter((c) => c.critical && c.status === 'down') },
          'not ready: a critical health check fails',
        );
    }
    const status: ServingStatus = ready ? 'SERVING' : 'NOT_SERVING';
    for (const name of ['', this.id.service])
      for (const listener of [...this.servingListeners]) this.tell(() => listener(name, status));
    for (const listener of [...this.changeListeners]) this.tell(() => listener(report));
  }

  /** One listener failing must neither stop the others nor the checks. */
  private tell(notify: () => void): void {
    try {
      notify();
    } catch (err) {
      this.logger.error({ err }, 'a health listener threw');
    }
  }
}
