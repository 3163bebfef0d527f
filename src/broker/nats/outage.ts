import { MicroError } from '../../errors.js';

/** Error id of failures the broker itself reports. */
export const BROKER_ERROR_ID = 'tsmicro.broker';

/**
 * What the NATS broker does with publishes while the connection is down. nats.js (2.x) accepts
 * them into its outbound buffer and then discards that buffer when it reconnects — a silent
 * drop. So the gate holds them itself, bounded in bytes, sends them in order once reconnected,
 * and makes each such publish wait until the server confirmed it (flush): the caller learns the
 * truth, accepted or a 503.
 */
export class OutageGate {
  #up = true;
  #closed = false;
  #bufferedBytes = 0;
  #held: { topic: string; data: Uint8Array; resolve: () => void; reject: (err: Error) => void }[] =
    [];

  constructor(private readonly limitBytes: number) {}

  /** True while connected. */
  get up(): boolean {
    return this.#up;
  }

  /** Bytes of publishes held now. */
  get bufferedBytes(): number {
    return this.#bufferedBytes;
  }

  /** The connection dropped: publishes are held from now on. */
  down(): void {
    this.#up = false;
  }

  /**
   * Holds a publish while down and resolves once it reached the server after reconnecting; throws
   * 503 at once when the bound would be passed (with a bound of 0: always).
   */
  hold(topic: string, data: Uint8Array): Promise<void> {
    if (this.#closed)
      throw MicroError.unavailable(
        BROKER_ERROR_ID,
        `cannot publish to ${topic}: the NATS connection is closed`,
      );
    if (this.#bufferedBytes + data.byteLength > this.limitBytes) {
      throw MicroError.unavailable(
        BROKER_ERROR_ID,
        this.limitBytes === 0
          ? `cannot publish to ${topic}: NATS is unreachable (outage buffering is off)`
          : `cannot publish to ${topic}: NATS is unreachable and the outage buffer is full (${this.#bufferedBytes} of ${this.limitBytes} bytes held)`,
      );
    }
    this.#bufferedBytes += data.byteLength;
    return new Promise((resolve, reject) => {
      this.#held.push({ topic, data, resolve, reject });
    });
  }

  /**
   * Reconnected: sends what was held, in order, then confirms with a flush. Publishes made
   * meanwhile are still held (the gate opens only after the send), so order is kept.
   */
  async reconnected(
    send: (topic: string, data: Uint8Array) => void,
    flush: () => Promise<void>,
  ): Promise<void> {
    const batch = this.#held.splice(0);
    this.#bufferedBytes = 0;
    try {
      for (const h of batch) send(h.topic, h.data);
      this.#up = true;
      await flush();
      for (const h of batch) h.resolve();
    } catch (err) {
      const e = MicroError.unavailable(
        BROKER_ERROR_ID,
        `held publishes were not confirmed after reconnecting: ${(err as Error).message}`,
      );
      for (const h of batch) h.reject(e);
    }
  }

  /** The connection is gone for good: every held publish fails. */
  close(reason: string): void {
    this.#closed = true;
    this.#reject(
      MicroError.unavailable(
        BROKER_ERROR_ID,
        `NATS connection closed before held publishes were sent: ${reason}`,
      ),
    );
  }

  #reject(err: MicroError): void {
    for (const h of this.#held.splice(0)) h.reject(err);
    this.#bufferedBytes = 0;
  }
}
