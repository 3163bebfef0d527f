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

  async function recv(): Promise<Recv | undefined> {
    if (ended) return undefined;
    let result: IteratorResult<Uint8Array>;
    try {
      result = await iterator.next();
    } catch (err) {
      end();
      throw markHop(MicroError.from(err, CLIENT_ERROR_ID), service, endpoint);
    }
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
  }

  return {
    async send(message: Send): Promise<void> {
      let body: Uint8Array;
      try {
        body = codec.encode(message, sendHint);
      } catch (err) {
        throw MicroError.badRequest(
          CLIENT_ERROR_ID,
          `cannot encode message for ${endpoint}: ${(err as Error).message}`,
        );
      }
      await frames.send(body);
    },
    closeSend: () => frames.closeSend(),
    recv,
    cancel(): void {
      frames.cancel();
      end();
    },
    async *[Symbol.asyncIterator](): AsyncIterator<Recv> {
      try {
        for (;;) {
          const msg = await recv();
          if (msg === undefined && ended) return;
          yield msg as Recv;
        }
      } finally {
        if (!ended) {
          // The consumer left the loop early: nobody reads the rest, so stop the stream.
          frames.cancel();
          end();
        }
      }
    },
  };
}
