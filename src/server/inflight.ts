import type { Dispatcher, FrameStream, InboundHead } from '../transport/transport.js';

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
    return this.track(() => this.inner.unary(head, body, signal));
  }

  stream(head: InboundHead, stream: FrameStream, signal: AbortSignal): Promise<void> {
    return this.track(() => this.inner.stream(head, stream, signal));
  }

  /** Resolves once no request is in flight (at once when none is). */
  idle(): Promise<void> {
    if (this.count === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private async track<T>(fn: () => Promise<T>): Promise<T> {
    this.count++;
    try {
      return await fn();
    } finally {
      this.count--;
      this.served++;
      if (this.count === 0) for (const w of this.idleWaiters.splice(0)) w();
    }
  }
}
