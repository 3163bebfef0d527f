import { CLIENT_ERROR_ID, MicroError } from '../../errors.js';
import { STREAM_WINDOW, STREAM_WINDOW_BYTES, STREAM_WINDOW_MAX } from './frame.js';

/** How a {@link StreamEnd} reaches its connection. */
export interface StreamWire {
  /** Writes one Data frame; false when the socket's buffer is full (wait for {@link drained}). */
  data(body: Uint8Array): boolean;
  /** Tells the peer it consumed `n` more messages. */
  window(n: number): void;
  /** Resolves when the socket can take more, rejects when it died. */
  drained(): Promise<void>;
}

const SENT: Promise<void> = Promise.resolve();
const DONE: IteratorResult<Uint8Array> = { value: undefined, done: true };

/**
 * One side of a native stream, shared by client and server: messages in (a queue the consumer
 * pulls from) and messages out, both under flow control. A sender may have {@link STREAM_WINDOW}
 * messages unconsumed at the peer, or up to {@link STREAM_WINDOW_MAX} while they add up to less
 * than {@link STREAM_WINDOW_BYTES}; past that `send()` waits for a Window frame (the peer
 * consumed some), and it also waits while the socket's buffer is full — so a slow consumer slows
 * the producer instead of growing a buffer, and one stalled stream never blocks the other calls
 * on the connection.
 *
 * A message costs one promise each way: `send()` returns a shared resolved promise while it may
 * go on, and a message already queued is handed to the consumer without waiting.
 */
export class StreamEnd {
  /** Received and not yet consumed: `inbound[inHead..]`. */
  private inbound: Uint8Array[] = [];
  private inHead = 0;
  private reader:
    | { resolve: (r: IteratorResult<Uint8Array>) => void; reject: (err: MicroError) => void }
    | undefined;
  /** The peer half-closed, or the stream ended: no more messages arrive. */
  private inboundEnded = false;
  /** What iteration throws once the buffered messages are consumed (once). */
  private inboundError: MicroError | undefined;
  /** Sizes of the messages sent and not yet consumed by the peer: `sizes[sizesHead..]`. */
  private sizes: number[] = [];
  private sizesHead = 0;
  private inflightBytes = 0;
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

  send(body: Uint8Array): Promise<void> {
    if (this.over)
      return Promise.reject(this.failure ?? new MicroError(CLIENT_ERROR_ID, 400, 'stream closed'));
    if (this.sendClosed)
      return Promise.reject(new MicroError(CLIENT_ERROR_ID, 400, 'send after closeSend'));
    if (body.byteLength > this.limit) {
      // As in gRPC, an oversized message fails the whole call.
      const err = new MicroError(
        CLIENT_ERROR_ID,
        413,
        `message of ${body.byteLength} bytes is larger than the limit of ${this.limit}`,
      );
      this.onOversize(err);
      return Promise.reject(err);
    }
    if (!this.mayOpen()) return this.sendLater(body);
    return this.put(body);
  }

  /** A Window frame arrived: the peer consumed the `n` oldest messages in flight. */
  grant(n: number): void {
    const sizes = this.sizes;
    let head = this.sizesHead;
    const end = Math.min(sizes.length, head + n);
    for (; head < end; head++) this.inflightBytes -= sizes[head];
    if (head === sizes.length) {
      sizes.length = 0;
      head = 0;
    } else if (head > 4096 && head * 2 > sizes.length) {
      this.sizes = sizes.slice(head);
      head = 0;
    }
    this.sizesHead = head;
    const w = this.waiter;
    if (w && this.mayOpen()) {
      this.waiter = undefined;
      w.resolve();
    }
  }

  /** A Data frame arrived. */
  receive(body: Uint8Array): void {
    if (this.inboundEnded) return;
    const r = this.reader;
    if (r) {
      this.reader = undefined;
      this.consume();
      r.resolve({ value: body, done: false });
    } else {
      this.inbound.push(body);
    }
  }

  /** The peer half-closed: iteration ends once the buffered messages are consumed. */
  endInbound(): void {
    this.endIn(undefined);
  }

  /**
   * Ends the stream with `err`: iteration throws it (after buffered messages), sends reject with
   * it.
   */
  fail(err: MicroError): void {
    if (this.over) return;
    this.over = true;
    this.failure = err;
    this.endIn(err);
    this.rejectWaiter(err);
  }

  /** Ends the stream cleanly (the call finished). */
  finish(): void {
    if (this.over) return;
    this.over = true;
    this.endIn(undefined);
    this.rejectWaiter(new MicroError(CLIENT_ERROR_ID, 400, 'stream closed'));
  }

  /** The consumer's iterator: pulls from the queue and returns credit to the peer as it goes. */
  readonly iterator = (): AsyncIterator<Uint8Array> => ({
    next: () => this.next(),
    return: () => {
      this.inbound = [];
      this.inHead = 0;
      this.inboundError = undefined;
      this.endIn(undefined);
      return Promise.resolve(DONE);
    },
  });

  private next(): Promise<IteratorResult<Uint8Array>> {
    if (this.inHead < this.inbound.length) {
      const value = this.inbound[this.inHead];
      if (++this.inHead === this.inbound.length) {
        this.inbound.length = 0;
        this.inHead = 0;
      }
      this.consume();
      return Promise.resolve({ value, done: false });
    }
    if (this.inboundEnded) {
      const err = this.inboundError;
      if (err === undefined) return Promise.resolve(DONE);
      this.inboundError = undefined;
      return Promise.reject(err);
    }
    return new Promise((resolve, reject) => {
      this.reader = { resolve, reject };
    });
  }

  /** One message handed to the consumer: every half window, tell the peer. */
  private consume(): void {
    if (++this.consumed >= STREAM_WINDOW / 2 && !this.over) {
      this.wire.window(this.consumed);
      this.consumed = 0;
    }
  }

  private endIn(err: MicroError | undefined): void {
    if (this.inboundEnded) return;
    this.inboundEnded = true;
    this.inboundError = err;
    const r = this.reader;
    if (r) {
      this.reader = undefined;
      if (err !== undefined) {
        this.inboundError = undefined;
        r.reject(err);
      } else r.resolve(DONE);
    }
  }

  /** True while one more message may be in flight. */
  private mayOpen(): boolean {
    const inflight = this.sizes.length - this.sizesHead;
    return (
      inflight < STREAM_WINDOW ||
      (inflight < STREAM_WINDOW_MAX && this.inflightBytes < STREAM_WINDOW_BYTES)
    );
  }

  private put(body: Uint8Array): Promise<void> {
    this.sizes.push(body.byteLength);
    this.inflightBytes += body.byteLength;
    return this.wire.data(body) ? SENT : this.wire.drained();
  }

  private async sendLater(body: Uint8Array): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.waiter = { resolve, reject };
    });
    if (this.over) throw this.failure ?? new MicroError(CLIENT_ERROR_ID, 400, 'stream closed');
    await this.put(body);
  }

  private rejectWaiter(err: MicroError): void {
    const w = this.waiter;
    this.waiter = undefined;
    w?.reject(err);
  }
}
