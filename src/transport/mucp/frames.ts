import type { MicroError } from '../../errors.js';
import { messageTooLarge } from '../errors.js';
import type { FrameStream } from '../transport.js';

/** Where a stream's outbound side goes: the client's requests or the server's responses. */
export interface MucpSink {
  send(body: Uint8Array): Promise<void>;
  closeSend(): void;
  cancel(err?: Error): void;
}

/**
 * A mucp stream on either end: the messages the peer sent, queued until read, and sends handed
 * to the sink. go-micro's HTTP transport has no flow control (each message is a whole HTTP
 * message), so neither has this: the queue holds what arrived.
 */
export class MucpFrames implements FrameStream {
  private readonly queue: Uint8Array[] = [];
  private waiter?: {
    resolve: (r: IteratorResult<Uint8Array>) => void;
    reject: (err: unknown) => void;
  };
  private ended = false;
  private error?: MicroError;

  constructor(
    private readonly maxMessageBytes: number,
    private readonly sink: MucpSink,
  ) {}

  /** A message from the peer. */
  push(body: Uint8Array): void {
    if (this.ended || this.error) return;
    const w = this.waiter;
    if (w) {
      this.waiter = undefined;
      w.resolve({ value: body, done: false });
    } else this.queue.push(body);
  }

  /** The peer is done sending (its EOS). */
  inboundEnd(): void {
    if (this.ended || this.error) return;
    this.ended = true;
    const w = this.waiter;
    if (w && this.queue.length === 0) {
      this.waiter = undefined;
      w.resolve({ value: undefined, done: true });
    }
  }

  /** The stream failed: reads after the queued messages throw `err`. */
  fail(err: MicroError): void {
    // A clean end already read stays clean; the handler's signal tells it the rest.
    if (this.error || this.ended) return;
    this.error = err;
    const w = this.waiter;
    if (w && this.queue.length === 0) {
      this.waiter = undefined;
      w.reject(err);
    }
  }

  send(body: Uint8Array): Promise<void> {
    if (body.length > this.maxMessageBytes)
      return Promise.reject(messageTooLarge(body.length, this.maxMessageBytes));
    return this.sink.send(body);
  }

  closeSend(): void {
    this.sink.closeSend();
  }

  cancel(err?: Error): void {
    this.sink.cancel(err);
  }

  [Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    return {
      next: () => {
        const value = this.queue.shift();
        if (value !== undefined) return Promise.resolve({ value, done: false });
        if (this.error) return Promise.reject(this.error);
        if (this.ended) return Promise.resolve({ value: undefined, done: true });
        return new Promise((resolve, reject) => {
          this.waiter = { resolve, reject };
        });
      },
      return: () => Promise.resolve({ value: undefined, done: true }),
    };
  }
}
