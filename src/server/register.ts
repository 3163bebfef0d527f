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
 * back by itself when the registry does.
 */
export class Registrar {
  private timer: NodeJS.Timeout | undefined;
  private beating: Promise<void> | undefined;
  /** The last registration attempt failed: the next success is logged as a recovery. */
  private failing = false;
  /** Some registration succeeded: the registry (and so clients) may know this node. */
  everRegistered = false;

  constructor(private readonly o: RegistrarOptions) {}

  /**
   * Registers, retrying up to `attempts` times with backoff; then starts the heartbeat. Rejects
   * with the last error when every attempt failed and registration is `required`.
   */
  async start(): Promise<void> {
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
    if (this.o.intervalMs > 0) {
      this.timer = setInterval(() => this.beat(), this.o.intervalMs);
      this.timer.unref();
    }
  }

  /** Stops the heartbeat and deregisters (errors are logged: the TTL cleans up after us). */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.beating;
    try {
      await this.o.registry.deregister(this.o.service());
    } catch (err) {
      this.o.logger.warn({ err }, 'deregistration failed; the entry expires with its TTL');
    }
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
