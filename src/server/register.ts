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

  constructor(private readonly o: RegistrarOptions) {}

  /** Registers, retrying up to `attempts` times; rejects with the last error. Then starts the heartbeat. */
  async start(): Promise<void> {
    let lastErr: unknown;
    for (let i = 0; i < this.o.attempts; i++) {
      if (i > 0) await new Promise((r) => setTimeout(r, backoffMs(i)));
      try {
        await this.register();
        lastErr = undefined;
        break;
      } catch (err) {
        lastErr = err;
        this.o.logger.warn({ err, attempt: i + 1 }, 'registration failed');
      }
    }
    if (lastErr !== undefined) throw lastErr;
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
      .catch((err: unknown) => this.o.logger.warn({ err }, 'heartbeat registration failed; serving on'))
      .finally(() => { this.beating = undefined; });
  }

  private register(): Promise<void> {
    return this.o.registry.register(this.o.service(), { ttlMs: this.o.ttlMs });
  }
}
