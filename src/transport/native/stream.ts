import { CLIENT_ERROR_ID, MicroError } from '../../errors.js';
import { AsyncQueue } from '../../internal/async-queue.js';
import { STREAM_WINDOW } from './frame.js';

/** How a {@link StreamEnd} reaches its connection. */
export interface StreamWire {
  /** Writes one Data frame; false when the socket's buffer is full (wait for {@link drained}). */
  data(body: Uint8Array): boolean;
  /** Tells the peer it may send `n` more messages. */
  window(n: number): void;
  /** Resolves when the socket can take more, rejects when it died. */
  drained(): Promise<void>;
}

/**
 * One side of a native stream, shared by client and server: messages in (a queue the consumer
 * pulls from) and messages out, both under flow control. A sender may have {@link STREAM_WINDOW}
 * messages unconsumed at the peer; past that `send()` waits for a Window frame, and it also
 * waits while the socket's buffer is full — so a slow consumer slows the producer instead of
 * growing a buffer, and one stalled stream never blocks the other calls on the connection.
 */
export class StreamEnd {
  private readonly inbound = new AsyncQueue<Uint8Array>();
  private credit = STREAM_WINDOW;
  private waiter: { resolve: () => void; reject: (err: MicroError) => void } | undefined;
  private consumed = 0;
  private over = false;
  private failure: MicroError | undefined;
  /** True once this side half-closed. */
  sendClosed = false;

  constructor(
    private readonly wire: StreamWire,
    private readonly limit: number,
    private readonly onOversize: (err: MicroError) => void,
  ) {}

  /** True once the stream ended, either way. */
  get ended(): boolean {
    return this.over;
  }

  async send(body: Uint8Array): Promise<void> {
    if (this.over) throw this.failure ?? new MicroError(CLIENT_ERROR_ID, 400, 'stream closed');
    if (this.sendClosed) throw new MicroError(CLIENT_ERROR_ID, 400, 'send after closeSend');
    if (body.byteLength > this.limit) {
      // As in gRPC, an oversized message fails the whole call.
      const err = new MicroError(
        CLIENT_ERROR_ID,
        413,
        `message of ${body.byteLength} bytes is larger than the limit of ${this.limit}`,
      );
      this.onOversize(err);
      throw err;
    }
    if (this.credit === 0) {
      await new Promise<void>((resolve, reject) => {
        this.waiter = { resolve, reject };
      });
    }
    this.credit--;
    if (!this.wire.data(body)) await this.wire.drained();
  }

  /** A Window frame arrived. */
  grant(n: number): void {
    this.credit += n;
    const w = this.waiter;
    if (w && this.credit > 0) {
      this.waiter = undefined;
      w.resolve();
    }
  }

  /** A Data frame arrived. */
  receive(body: Uint8Array): void {
    if (!this.over) this.inbound.push(body);
  }

  /** The peer half-closed: iteration ends once the buffered messages are consumed. */
  endInbound(): void {
    this.inbound.end();
  }

  /**
   * Ends the stream with `err`: iteration throws it (after buffered messages), sends reject with
   * it.
   */
  fail(err: MicroError): void {
    if (this.over) return;
    this.over = true;
    this.failure = err;
    this.inbound.end(err);
    this.rejectWaiter(err);
  }

  /** Ends the stream cleanly (the call finished). */
  finish(): void {
    if (this.over) return;
    this.over = true;
    this.inbound.end();
    this.rejectWaiter(new MicroError(CLIENT_ERROR_ID, 400, 'stream closed'));
  }

  /** The consumer's iterator: pulls from the queue and returns credit to the peer as it goes. */
  readonly iterator = (): AsyncIterator<Uint8Array> => ({
    next: () =>
      this.inbound.next().then((r) => {
        if (!r.done && ++this.consumed >= STREAM_WINDOW / 2 && !this.over) {
          this.wire.window(this.consumed);
          this.consumed = 0;
        }
        return r;
      }),
    return: () => this.inbound.return(),
  });

  private rejectWaiter(err: MicroError): void {
    const w = this.waiter;
    this.waiter = undefined;
    w?.reject(err);
  }
}
