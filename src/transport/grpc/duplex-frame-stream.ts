import { finished, type Duplex } from 'node:stream';
import type { MicroError } from '../../errors.js';
import { toBuffer, view } from '../buffers.js';
import type { FrameStream } from '../transport.js';

const RESOLVED = Promise.resolve();
const DONE: IteratorResult<Uint8Array> = { value: undefined, done: true };

/** How {@link duplexFrameStream} reaches the call under a duplex. */
export interface DuplexHooks {
  /** Turns whatever failed the duplex (an 'error' event, a premature close) into a MicroError. */
  toError(err: unknown): MicroError;
  /** Aborts the call; the peer should see `err`. */
  cancel(err?: Error): void;
  /**
   * Called when the readable side ended: resolves with an error when that end was not a
   * half-close but the call dying, so iteration throws it instead of ending cleanly.
   */
  checkEnd?(): Promise<MicroError | undefined>;
}

/**
 * A {@link FrameStream} over an object-mode Node duplex of Buffers — what grpc-js gives both the
 * client (ClientDuplexStream) and the server (ServerDuplexStream) of a bidi call.
 *
 * Backpressure both ways comes from the duplex: `send` resolves when `write()` has room (or on
 * 'drain'), and iteration pulls from the readable only as fast as the consumer asks (grpc-js
 * then stops reading from HTTP/2, and flow control reaches the peer).
 */
export function duplexFrameStream(duplex: Duplex, hooks: DuplexHooks): FrameStream {
  let failure: MicroError | undefined;
  // An 'error' event without a listener would crash the process; remember it instead, so
  // later sends reject with it (iteration sees it as the readable's end).
  duplex.on('error', (err: unknown) => {
    failure ??= hooks.toError(err);
  });

  function closedError(): MicroError {
    return failure ?? hooks.toError(new Error('stream closed'));
  }

  return {
    send(body: Uint8Array, handOver?: boolean): Promise<void> {
      if (failure) return Promise.reject(failure);
      if (duplex.destroyed || duplex.writableEnded) return Promise.reject(closedError());
      // grpc-js frames the message later (and may keep it for a transparent retry), while the
      // caller may reuse `body` once send() resolves: a copy, unless the body was handed over.
      if (duplex.write(handOver ? toBuffer(body) : Buffer.from(body))) return RESOLVED;
      return new Promise((resolve, reject) => {
        // A failed call may never drain (grpc-js drops queued writes), so 'error' and 'close'
        // settle a waiting send too.
        const done = (): void => {
          duplex.off('drain', onDrain);
          duplex.off('close', onFail);
          duplex.off('error', onFail);
        };
        const onDrain = (): void => {
          done();
          resolve();
        };
        const onFail = (): void => {
          done();
          reject(closedError());
        };
        duplex.on('drain', onDrain);
        duplex.on('close', onFail);
        duplex.on('error', onFail);
      });
    },
    closeSend(): void {
      if (!duplex.writableEnded && !duplex.destroyed) duplex.end();
    },
    cancel(err?: Error): void {
      hooks.cancel(err);
    },
    // A pull reader rather than an async generator around the readable's own iterator: that
    // made three promises per message (the generator's, the iterator's, its wait), this one.
    [Symbol.asyncIterator]: () => new DuplexReader(duplex, () => failure, hooks),
  };
}

/**
 * Reads a duplex's messages as the consumer asks for them: `read()` while the readable has some
 * buffered, else one wait for 'readable' or the end. The readable reads from grpc-js only while
 * its buffer is below the high-water mark, so a consumer that stops pulling stops the reading
 * (and HTTP/2 flow control holds the peer). Ends as Node's own readable iterator does: cleanly
 * on 'end', with the error on 'error' or a close before the end.
 */
class DuplexReader implements AsyncIterator<Uint8Array> {
  /** undefined while the readable is open; null once it ended cleanly; else why it failed. */
  private outcome: Error | null | undefined;
  private done = false;
  private waiting:
    | { resolve: (r: IteratorResult<Uint8Array>) => void; reject: (err: unknown) => void }
    | undefined;
  private readonly stopWatching: () => void;
  private readonly onReadable = (): void => this.wake();

  constructor(
    private readonly duplex: Duplex,
    private readonly failure: () => MicroError | undefined,
    private readonly hooks: DuplexHooks,
  ) {
    duplex.on('readable', this.onReadable);
    this.stopWatching = finished(duplex, { writable: false }, (err) => {
      this.outcome = err ?? null;
      this.wake();
    });
  }

  next(): Promise<IteratorResult<Uint8Array>> {
    if (this.done) return Promise.resolve(DONE);
    const chunk = this.read();
    if (chunk !== null) return Promise.resolve({ value: view(chunk), done: false });
    if (this.outcome !== undefined) return this.finish();
    return new Promise((resolve, reject) => {
      this.waiting = { resolve, reject };
    });
  }

  return(): Promise<IteratorResult<Uint8Array>> {
    // The consumer left early: stop reading, but leave the call alone (it may still be sending);
    // cancel() is what tears it down.
    this.stop();
    return Promise.resolve(DONE);
  }

  private read(): Buffer | null {
    return this.duplex.destroyed ? null : (this.duplex.read() as Buffer | null);
  }

  private wake(): void {
    const waiting = this.waiting;
    if (!waiting) return;
    const chunk = this.read();
    if (chunk !== null) {
      this.waiting = undefined;
      waiting.resolve({ value: view(chunk), done: false });
    } else if (this.outcome !== undefined) {
      this.waiting = undefined;
      this.finish().then(waiting.resolve, waiting.reject);
    }
  }

  private async finish(): Promise<IteratorResult<Uint8Array>> {
    this.stop();
    const outcome = this.outcome;
    if (outcome) {
      // As the readable's own iterator does on an error: the call is over.
      this.duplex.destroy();
      throw this.failure() ?? this.hooks.toError(outcome);
    }
    const ended = this.failure() ?? (await this.hooks.checkEnd?.());
    if (ended) throw ended;
    return DONE;
  }

  private stop(): void {
    if (this.done) return;
    this.done = true;
    this.duplex.off('readable', this.onReadable);
    this.stopWatching();
  }
}
