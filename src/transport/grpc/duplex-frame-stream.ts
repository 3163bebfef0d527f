import type { Duplex } from 'node:stream';
import type { MicroError } from '../../errors.js';
import { view } from '../buffers.js';
import type { FrameStream } from '../transport.js';

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
