import type { Duplex } from 'node:stream';
import { DeadlineExceeded } from '../context.js';
import { CLIENT_ERROR_ID, MicroError, SERVER_ERROR_ID } from '../errors.js';
import type { Dispatcher, FrameStream, InboundHead, UnaryCall } from './transport.js';

/**
 * What the transports share: a FrameStream over a Node duplex, Buffer views, and the errors
 * every transport makes the same way. Nothing here loads grpc-js.
 */

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
 * 'drain'), and iteration uses the readable's own iterator, which reads only as fast as the
 * consumer pulls (grpc-js then stops reading from HTTP/2, and flow control reaches the peer).
 */
export function duplexFrameStream(duplex: Duplex, hooks: DuplexHooks): FrameStream {
  let failure: MicroError | undefined;
  // An 'error' event without a listener would crash the process; remember it instead, so
  // later sends reject with it (iteration sees it through the readable iterator).
  duplex.on('error', (err: unknown) => {
    failure ??= hooks.toError(err);
  });

  function closedError(): MicroError {
    return failure ?? hooks.toError(new Error('stream closed'));
  }

  return {
    send(body: Uint8Array): Promise<void> {
      if (failure) return Promise.reject(failure);
      if (duplex.destroyed || duplex.writableEnded) return Promise.reject(closedError());
      // A copy: grpc-js frames the message asynchronously and may keep it for a transparent
      // retry, while the caller is free to reuse `body` once send() resolves.
      if (duplex.write(Buffer.from(body))) return Promise.resolve();
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
    async *[Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
      try {
        // destroyOnReturn false: a consumer leaving the loop early must not tear the call down
        // (it may still be sending); cancel() does that.
        for await (const chunk of duplex.iterator({ destroyOnReturn: false })) {
          yield view(chunk as Buffer);
        }
      } catch (err) {
        throw failure ?? hooks.toError(err);
      }
      const ended = failure ?? (await hooks.checkEnd?.());
      if (ended) throw ended;
    },
  };
}

/**
 * A plain Uint8Array over a Buffer's bytes, no copy (Buffer's `slice` shares memory, Uint8Array's
 * copies).
 */
export function view(buf: Buffer): Uint8Array {
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
}

/** A Buffer over a Uint8Array's bytes, no copy (what grpc-js serializers must return). */
export function toBuffer(body: Uint8Array): Buffer {
  return Buffer.isBuffer(body) ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
}

/**
 * What a server sends when a handler rejected with `err`. A deadline abort that escaped the
 * handler becomes a 408, as Go's context.DeadlineExceeded does; anything else not a
 * MicroError is this server's 500.
 */
export function serverError(err: unknown): MicroError {
  if (err instanceof DeadlineExceeded)
    return MicroError.timeout(SERVER_ERROR_ID, 'deadline exceeded');
  return MicroError.from(err, SERVER_ERROR_ID);
}

/**
 * The error a call cancelled by its caller's signal ends with: 408, not a fault (nothing failed).
 */
export function cancelledError(cause?: unknown): MicroError {
  return new MicroError(
    CLIENT_ERROR_ID,
    408,
    'call cancelled',
    undefined,
    cause === undefined ? {} : { cause },
  );
}

/**
 * Hands one unary call to `dispatcher`: through `serveUnary` when it has it, else through the
 * promise of `unary`. Its outcome, a synchronous throw included, always reaches `call`.
 */
export function dispatchUnary(
  dispatcher: Dispatcher,
  head: InboundHead,
  body: Uint8Array,
  call: UnaryCall,
): void {
  try {
    if (dispatcher.serveUnary) dispatcher.serveUnary(head, body, call);
    else
      dispatcher.unary(head, body, call.signal).then(
        (reply) => call.replied(reply),
        (err: unknown) => call.failed(err),
      );
  } catch (err) {
    call.failed(err);
  }
}

/**
 * Serves a stream through `dispatcher.unary`: the first message (or none) is the request, the
 * reply the only message back. What a server does with a stream to an endpoint it does not know
 * as a stream — answering without waiting for the client to half-close, so a client that opened
 * a stream and waits for a reply gets the 404 instead of hanging.
 */
export async function unaryOverStream(
  dispatcher: Dispatcher,
  head: InboundHead,
  frames: FrameStream,
  signal: AbortSignal,
): Promise<void> {
  const first = await frames[Symbol.asyncIterator]().next();
  const reply = await dispatcher.unary(
    head,
    first.done === true ? new Uint8Array(0) : first.value,
    signal,
  );
  await frames.send(reply);
}
