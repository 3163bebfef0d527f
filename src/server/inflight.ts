import type { Dispatcher, FrameStream, InboundHead, SignalSource } from '../transport/transport.js';

/**
 * Counts the requests a server is answering, whatever the transport, so stop() can say how many
 * were still running when it closed the listener and how many the hard close cut off.
 */
export class InflightDispatcher implements Dispatcher {
  /** Requests (unary calls and streams) being answered now. */
  count = 0;
  /** Requests answered since start, so tests and logs can tell a drained server from an idle one. */
  served = 0;
  private readonly idleWaiters: (() => void)[] = [];

  constructor(private readonly inner: Dispatcher) {}

  kind(endpoint: string): ReturnType<Dispatcher['kind']> {
    return this.inner.kind(endpoint);
  }

  unary(head: InboundHead, body: Uint8Array, signal: AbortSignal): Promise<Uint8Array> {
    this.count++;
    return this.track(start(() => this.inner.unary(head, body, signal)));
  }

  unaryLazy(head: InboundHead, body: Uint8Array, abort: SignalSource): Promise<Uint8Array> {
    this.count++;
    const inner = this.inner;
    return this.track(start(() => (inner.unaryLazy ? inner.unaryLazy(head, body, abort) : inner.unary(head, body, abort.signal))));
  }

  stream(head: InboundHead, stream: FrameStream, signal: AbortSignal): Promise<void> {
    this.count++;
    return this.track(start(() => this.inner.stream(head, stream, signal)));
  }

  /** Resolves once no request is in flight (at once when none is). */
  idle(): Promise<void> {
    if (this.count === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Counts `running` (already counted in) until it settles; plain callbacks, no extra async frame. */
  private track<T>(running: Promise<T>): Promise<T> {
    return running.then(
      (value) => { this.done(); return value; },
      (err: unknown) => { this.done(); throw err; },
    );
  }

  private done(): void {
    this.count--;
    this.served++;
    if (this.count === 0) for (const w of this.idleWaiters.splice(0)) w();
  }
}

/** Runs `fn`, turning a synchronous throw into a rejection. */
function start<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return fn();
  } catch (err) {
    return Promise.reject(err);
  }
}
