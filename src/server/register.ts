import { backoffMs } from '../client/backoff.js';
import type { Logger } from '../logger.js';
import type { Registry, Service } from '../registry/registry.js';

/** Options for {@link Registrar}. */
export interface RegistrarOptions {
  registry: Registry;
  /** Builds the entry to register; called on every beat so late `handle()` calls are published. */
  service: () => Service;
  ttlMs: number;
  intervalMs: number;
  attempts: number;
  /**
   * When true, start() rejects after `attempts` failures. When false it resolves anyway: the
   * server serves, and each heartbeat tries again until the registry answers.
   */
  required: boolean;
  logger: Logger;
}

/**
 * Keeps a server registered: registers at start (retrying with backoff), re-registers every
 * interval within the TTL (the heartbeat), and deregisters at stop. A failing registry while
 * running is logged and retried on the next beat: serving goes on, and the registration comes
 * back by itself when the registry does. While the node is not ready it is withdrawn
 * ({@link pause}: no heartbeat, deregistered) and comes back on {@link resume}.
 */
export class Registrar {
  private timer: NodeJS.Timeout | undefined;
  private beating: Promise<void> | undefined;
  /** The last registration attempt failed: the next success is logged as a recovery. */
  private failing = false;
  /** Whether the node should be listed now (started and not paused). */
  private active = false;
  /** pause() and resume() in the order they were asked, so the registry ends as the last one. */
  private turns: Promise<void> = Promise.resolve();
  /** Some registration succeeded: the registry (and so clients) may know this node. */
  everRegistered = false;

  constructor(private readonly o: RegistrarOptions) {}

  /**
   * Withdraws the node (not ready): stops the heartbeat and deregisters. Serving goes on, so
   * callers whose cache still lists the node lose nothing. No-op when already withdrawn.
   */
  pause(): Promise<void> {
    if (!this.active) return this.turns;
    this.active = false;
    this.stopBeating();
    return this.turn(async () => {
      await this.beating;
      if (this.active) return;
      try {
        await this.o.registry.deregister(this.o.service());
        this.o.logger.info({}, 'deregistered while not ready');
      } catch (err) {
        this.o.logger.warn({ err }, 'deregistration failed; the entry expires with its TTL');
      }
    });
  }

  /**
   * Lists the node again (ready): registers now — a failure is logged and retried on every
   * beat — and restarts the heartbeat. No-op when already listed.
   */
  resume(): Promise<void> {
    if (this.active) return this.turns;
    this.active = true;
    return this.turn(async () => {
      if (!this.active) return;
      try {
        await this.register();
      } catch (err) {
        this.failing = true;
        this.o.logger.warn({ err }, 'registration failed; retrying on every heartbeat');
      }
      if (this.active) this.startBeating();
    });
  }

  private turn(fn: () => Promise<void>): Promise<void> {
    // A turn that threw must not stop the ones after it.
    this.turns = this.turns.then(fn).catch((err: unknown) => {
      this.o.logger.error({ err }, 'registration change failed');
    });
    return this.turns;
  }

  /**
   * Registers, retrying up to `attempts` times with backoff; then starts the heartbeat. Rejects
   * with the last error when every attempt failed and registration is `required`.
   */
  async start(): Promise<void> {
    this.active = true;
    let failed = false;
    let lastErr: unknown;
    for (let i = 0; i < this.o.attempts; i++) {
      if (i > 0) await new Promise((r) => setTimeout(r, backoffMs(i)));
      try {
        await this.register();
        failed = false;
        break;
      } catch (err) {
        failed = true;
        lastErr = err;
        this.o.logger.warn({ err, attempt: i + 1 }, 'registration failed');
      }
    }
    if (failed) {
      // Whatever the registry threw, as it threw it.
      if (this.o.required) throw lastErr;
      this.failing = true;
      this.o.logger.error(
        { err: lastErr },
        'registration failed; serving unregistered and retrying on every heartbeat',
      );
    }
    this.startBeating();
  }

  /** Stops the heartbeat and deregisters (errors are logged: the TTL cleans up after us). */
  async stop(): Promise<void> {
    this.active = false;
    this.stopBeating();
    await this.turns;
    await this.beating;
    try {
      await this.o.registry.deregister(this.o.service());
    } catch (err) {
      this.o.logger.warn({ err }, 'deregistration failed; the entry expires with its TTL');
    }
  }

  private startBeating(): void {
    if (this.o.intervalMs > 0 && !this.timer) {
      this.timer = setInterval(() => this.beat(), this.o.intervalMs);
      this.timer.unref();
    }
  }

  private stopBeating(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  private beat(): void {
    if (this.beating) return; // a slow registry must not stack up beats
    this.beating = this.register()
      .catch((err: unknown) => {
        this.failing = true;
        this.o.logger.warn({ err }, 'heartbeat registration failed; serving on');
      })
      .finally(() => {
        this.beating = undefined;
      });
  }

  private async register(): Promise<void> {
    await this.o.registry.register(this.o.service(), { ttlMs: this.o.ttlMs });
    this.everRegistered = true;
    if (this.failing) this.o.logger.info({ ttlMs: this.o.ttlMs }, 'registration restored');
    this.failing = false;
  }
}
