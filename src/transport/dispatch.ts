import { MicroError, SERVER_ERROR_ID } from '../errors.js';
import type { Dispatcher, EndpointKind, FrameStream, InboundHead, UnaryCall } from './transport.js';

/**
 * How a transport's server hands inbound calls to its {@link Dispatcher}, the same way on every
 * wire: a handler's synchronous throw is an outcome like any other, and a stream opened on an
 * endpoint that is not a stream is answered through `unary`.
 */

/**
 * The kind of `endpoint`, or undefined when the dispatcher does not know it (or throws):
 * `dispatcher.unary` then answers, saying what is wrong (the 404).
 */
export function kindOf(dispatcher: Dispatcher, endpoint: string): EndpointKind | undefined {
  try {
    return dispatcher.kind(endpoint);
  } catch {
    return undefined;
  }
}

/**
 * Runs `fn`, turning a synchronous throw into a rejection (an async function does exactly that,
 * whatever was thrown: handlers may throw anything, and the server answers every outcome).
 */
export async function settle<T>(fn: () => Promise<T>): Promise<T> {
  return fn();
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
 * reply the only message back. What a server does with a stream to an endpoint it does not serve
 * as a stream — answering without waiting for the client to half-close, so a client that opened
 * a stream and waits for a reply gets the 404 instead of hanging.
 *
 * With `requireRequest` (an endpoint known to be unary), a stream that ends without a message is
 * a 400, as grpc-js refuses a unary call with no message; without it the request is empty.
 */
export async function unaryOverStream(
  dispatcher: Dispatcher,
  head: InboundHead,
  frames: FrameStream,
  signal: AbortSignal,
  requireRequest = false,
): Promise<void> {
  const first = await frames[Symbol.asyncIterator]().next();
  if (first.done === true && requireRequest)
    throw MicroError.badRequest(
      SERVER_ERROR_ID,
      `${head.endpoint} is unary and the stream sent no request message`,
    );
  const reply = await dispatcher.unary(
    head,
    first.done === true ? new Uint8Array(0) : first.value,
    signal,
  );
  await frames.send(reply);
}
