import type { WebSocket } from 'ws';
import type { ClientStream } from '../client/client.js';
import { MicroError } from '../errors.js';
import { GATEWAY_ERROR_ID, httpErrorOf } from './errors.js';
import { closeCode, closeReason } from './stream-errors.js';

/**
 * A bidirectional service stream over one WebSocket. Each text (or binary) frame from the peer
 * is one JSON message for the service; an empty frame means the peer has no more to send (a
 * WebSocket cannot half-close, and no JSON text is empty). Each message from the service is one
 * text frame of its JSON. The service ending its stream closes the socket with 1000; a failure
 * closes it with 4000 + the error's code and its `{id, code, detail, status}` JSON as reason.
 *
 * Flow control both ways: a frame from the peer is taken only once the service stream has room
 * for the one before (the socket is paused meanwhile, so TCP stops the peer), and the next
 * message is taken from the service only while the socket's unsent bytes stay under the high
 * water mark (past it, only once they have been written), so a slow peer slows the service.
 */

/** Options of {@link pipeWebSocket}. */
export interface WebSocketPipeOptions {
  /** Unsent bytes on the socket past which no more messages are taken from the service. @defaultValue 65536 */
  highWaterMark?: number;
}

/** Whether the service side's stream is already over (so a later close needs no cancel). */
interface Pump {
  ended: boolean;
}

/**
 * Pipes `stream` and `ws` into each other until either ends. Resolves once the socket is
 * closed; never rejects.
 */
export function pipeWebSocket(
  ws: WebSocket,
  stream: ClientStream<unknown, unknown>,
  opts: WebSocketPipeOptions = {},
): Promise<void> {
  const highWaterMark = opts.highWaterMark ?? 64 * 1024;
  const pump: Pump = { ended: false };
  const closed = new Promise<void>((resolve) => ws.once('close', () => resolve()));
  const fail = (err: unknown): void => {
    if (pump.ended) return;
    pump.ended = true;
    stream.cancel();
    const e = httpErrorOf(err);
    if (ws.readyState === ws.OPEN) ws.close(closeCode(e), closeReason(e));
  };
  ws.once('close', () => {
    // The peer left (or we closed): a stream still running has nobody to answer.
    if (!pump.ended) {
      pump.ended = true;
      stream.cancel();
    }
  });
  ws.on('error', () => {
    // ws follows every 'error' with 'close', which cleans up.
  });
  inbound(ws, stream, fail);
  void outbound(ws, stream, highWaterMark, pump, fail);
  return closed;
}

/** Peer → service: one frame at a time, the socket paused while the service stream is full. */
function inbound(
  ws: WebSocket,
  stream: ClientStream<unknown, unknown>,
  fail: (err: unknown) => void,
): void {
  let queue = Promise.resolve();
  let waiting = 0;
  let inputEnded = false;
  ws.on('message', (data: Buffer | ArrayBuffer | Buffer[]) => {
    const bytes = Array.isArray(data)
      ? Buffer.concat(data)
      : Buffer.isBuffer(data)
        ? data
        : Buffer.from(data);
    if (inputEnded) {
      fail(MicroError.badRequest(GATEWAY_ERROR_ID, 'message after the end of input'));
      return;
    }
    if (bytes.length === 0) {
      inputEnded = true;
      queue = queue.then(() => stream.closeSend());
      return;
    }
    let message: unknown;
    try {
      message = JSON.parse(bytes.toString('utf8'));
    } catch (err) {
      fail(
        MicroError.badRequest(
          GATEWAY_ERROR_ID,
          `a stream message is not JSON: ${(err as Error).message}`,
        ),
      );
      return;
    }
    // Frames already read from the socket still arrive after pause(): they queue here, a
    // bounded few, in order.
    waiting++;
    ws.pause();
    queue = queue
      .then(() => stream.send(message))
      .then(
        () => {
          if (--waiting === 0) ws.resume();
        },
        (err: unknown) => fail(err),
      );
  });
}

/** Service → peer: a message is taken only while the socket has room. */
async function outbound(
  ws: WebSocket,
  stream: ClientStream<unknown, unknown>,
  highWaterMark: number,
  pump: Pump,
  fail: (err: unknown) => void,
): Promise<void> {
  try {
    for (;;) {
      const msg = await stream.recv();
      if (pump.ended) return;
      if (msg === undefined) break;
      const written = new Promise<Error | undefined>((resolve) =>
        ws.send(JSON.stringify(msg), (err) => resolve(err ?? undefined)),
      );
      if (ws.bufferedAmount > highWaterMark) {
        // The callback fires once the frame has left the socket's own buffer for the kernel.
        const err = await written;
        if (err || pump.ended) return;
      }
    }
    pump.ended = true;
    if (ws.readyState === ws.OPEN) ws.close(1000);
  } catch (err) {
    fail(err);
  }
}
