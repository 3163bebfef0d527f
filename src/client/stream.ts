import type { Codec, CodecHint } from '../codec/codec.js';
import { CLIENT_ERROR_ID, MicroError } from '../errors.js';
import { markHop } from '../internal/hop.js';
import type { FrameStream } from '../transport/transport.js';
import type { ClientStream } from './client.js';

/**
 * A typed client stream over a transport {@link FrameStream}: encodes what is sent, decodes what
 * arrives. `onEnd` runs once when the stream is over (its deadline timer is released there).
 */
export function codecStream<Send, Recv>(
  frames: FrameStream,
  codec: Codec,
  service: string,
  endpoint: string,
  onEnd: () => void,
): ClientStream<Send, Recv> {
  const sendHint: CodecHint = { endpoint, kind: 'request' };
  const recvHint: CodecHint = { endpoint, kind: 'response' };
  const iterator = frames[Symbol.asyncIterator]();
  let ended = false;
  const end = (): void => {
    if (ended) return;
    ended = true;
    onEnd();
  };

  const decoded = (result: IteratorResult<Uint8Array>): Recv | undefined => {
    if (result.done) {
      end();
      return undefined;
    }
    try {
      return codec.decode(result.value, recvHint) as Recv;
    } catch (err) {
      frames.cancel();
      end();
      throw new MicroError(
        CLIENT_ERROR_ID,
        502,
        `malformed stream message from ${endpoint}: ${(err as Error).message}`,
      );
    }
  };
  const failed = (err: unknown): never => {
    end();
    throw markHop(MicroError.from(err, CLIENT_ERROR_ID), service, endpoint);
  };
  // Plain promise chains, not async functions and generators: each layer of those costs a
  // promise or two per message, a good part of a small message's cost.
  const recv = (): Promise<Recv | undefined> =>
    ended ? Promise.resolve(undefined) : iterator.next().then(decoded, failed);
  const item = (msg: Recv | undefined): IteratorResult<Recv> =>
    msg === undefined && ended
      ? { value: undefined, done: true }
      : { value: msg as Recv, done: false };

  return {
    send(message: Send): Promise<void> {
      let body: Uint8Array;
      try {
        body = codec.encode(message, sendHint);
      } catch (err) {
        return Promise.reject(
          MicroError.badRequest(
            CLIENT_ERROR_ID,
            `cannot encode message for ${endpoint}: ${(err as Error).message}`,
          ),
        );
      }
      // The codec's output is this message's alone: the transport need not copy it.
      return frames.send(body, true);
    },
    closeSend: () => frames.closeSend(),
    recv,
    cancel(): void {
      frames.cancel();
      end();
    },
    [Symbol.asyncIterator](): AsyncIterator<Recv> {
      return {
        next: () => recv().then(item),
        return: (): Promise<IteratorResult<Recv>> => {
          if (!ended) {
            // The consumer left the loop early: nobody reads the rest, so stop the stream.
            frames.cancel();
            end();
          }
          return Promise.resolve({ value: undefined, done: true });
        },
      };
    },
  };
}
