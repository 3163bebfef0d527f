import { DeadlineExceeded, clampTimeout } from '../context.js';
import { DEFAULTS } from '../defaults.js';
import { CLIENT_ERROR_ID, MicroError, SERVER_ERROR_ID } from '../errors.js';
import { AsyncQueue } from '../internal/async-queue.js';
import { normalizeMetadata } from '../metadata.js';
import { checkInteger, joinHostPort } from '../options.js';
import { kindOf, settle, unaryOverStream } from './dispatch.js';
import {
  cancelledError,
  deadlineFault,
  messageTooLarge,
  serverError,
  transportFault,
} from './errors.js';
import { listenAddress } from './listen-address.js';
import type {
  Connection,
  Dispatcher,
  FrameStream,
  InboundHead,
  ListenOptions,
  Listener,
  RequestHead,
  Transport,
} from './transport.js';

/** Options for {@link memoryTransport}. */
export interface MemoryTransportOptions {
  /** Largest message sent or received, bytes. @defaultValue `DEFAULTS.maxMessageBytes` (4 MiB) */
  maxMessageBytes?: number;
}

/**
 * An in-process transport: servers and clients of one instance talk without sockets, with the
 * grpc transport's semantics — bodies copied as if serialised, errors reduced to their wire
 * form, deadlines, cancellation and size limits enforced, the same faults. Listeners live in
 * the instance, so separate instances never see each other.
 */
export function memoryTransport(opts: MemoryTransportOptions = {}): Transport {
  return new MemoryTransport(
    checkInteger('memoryTransport.maxMessageBytes', opts.maxMessageBytes, 1) ??
      DEFAULTS.maxMessageBytes,
  );
}

class MemoryTransport implements Transport {
  readonly name = 'memory';
  private readonly servers = new Map<string, MemoryServer>();
  /** Fake ports for `:0` listens, unique within this instance. */
  private nextPort = 1;

  constructor(readonly maxMessageBytes: number) {}

  async listen(
    address: string,
    dispatcher: Dispatcher,
    opts: ListenOptions = {},
  ): Promise<Listener> {
    const parsed = listenAddress(address);
    const max =
      checkInteger('listen.maxMessageBytes', opts.maxMessageBytes, 1) ?? this.maxMessageBytes;
    let bound = joinHostPort(parsed.host, parsed.port);
    if (parsed.port === 0) {
      do bound = joinHostPort(parsed.host, this.nextPort++);
      while (this.servers.has(bound));
    } else if (this.servers.has(bound)) {
      throw new Error(`memory transport: ${bound} is already in use`);
    }
    const server = new MemoryServer(bound, dispatcher, max, () => this.servers.delete(bound));
    this.servers.set(bound, server);
    return server;
  }

  dial(address: string): Connection {
    return new MemoryConnection(address, this);
  }

  /**
   * The server answering at `address` now, if any (looked up per call, as a socket would connect).
   */
  serverAt(address: string): MemoryServer | undefined {
    const server = this.servers.get(address);
    return server && !server.closing ? server : undefined;
  }

  evict(): void {} // nothing is pooled

  async close(): Promise<void> {}
}

class MemoryServer implements Listener {
  closing = false;
  private readonly inflight = new Set<Exchange>();
  private onIdle: (() => void) | undefined;
  private closed: Promise<void> | undefined;

  constructor(
    readonly address: string,
    readonly dispatcher: Dispatcher,
    readonly maxMessageBytes: number,
    private readonly unregister: () => void,
  ) {}

  track(ex: Exchange): void {
    this.inflight.add(ex);
  }

  untrack(ex: Exchange): void {
    this.inflight.delete(ex);
    if (this.inflight.size === 0) this.onIdle?.();
  }

  close(graceMs = 0): Promise<void> {
    this.closed ??= (async () => {
      this.closing = true;
      if (this.inflight.size > 0) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, clampTimeout(graceMs));
          this.onIdle = () => {
            clearTimeout(timer);
            resolve();
          };
        });
      }
      const reset = transportFault(503, 'connection closed by the server', {
        beforeHandler: false,
        reason: 'reset',
      });
      for (const ex of [...this.inflight])
        ex.fail(reset, new MicroError(SERVER_ERROR_ID, 503, 'server stopped'));
      this.unregister();
    })();
    return this.closed;
  }
}

/**
 * One call in flight: enforces the deadline and the caller's signal on both ends. `fail` ends
 * it from outside the handler: the client side gets `clientErr`, the handler's signal aborts.
 */
class Exchange {
  private readonly controller = new AbortController();
  private timer: NodeJS.Timeout | undefined;
  private done = false;
  /** What the client side does when the exchange fails; set by the call or stream. */
  onFail: (clientErr: MicroError, serverReason: unknown) => void = () => {};

  constructor(
    private readonly server: MemoryServer,
    private readonly deadline: number,
    private readonly signal?: AbortSignal,
  ) {
    server.track(this);
    this.arm();
    signal?.addEventListener('abort', this.onAbort, { once: true });
  }

  get serverSignal(): AbortSignal {
    return this.controller.signal;
  }

  fail(clientErr: MicroError, serverReason: unknown): void {
    if (this.done) return;
    this.end();
    this.controller.abort(serverReason);
    this.onFail(clientErr, serverReason);
  }

  end(): void {
    if (this.done) return;
    this.done = true;
    clearTimeout(this.timer);
    this.signal?.removeEventListener('abort', this.onAbort);
    this.server.untrack(this);
  }

  private readonly onAbort = (): void => {
    this.fail(
      cancelledError(this.signal?.reason),
      new MicroError(SERVER_ERROR_ID, 408, 'call cancelled by the client'),
    );
  };

  /**
   * Node timers cap at ~24.8 days; re-arm until the deadline has really passed. Not unref'd: it
   * stands in for the socket a real call holds open, and is cleared when the call ends.
   */
  private arm(): void {
    if (!Number.isFinite(this.deadline)) return;
    this.timer = setTimeout(
      () => {
        if (Date.now() < this.deadline) return this.arm();
        this.fail(deadlineFault(), new DeadlineExceeded());
      },
      clampTimeout(this.deadline - Date.now()),
    );
  }
}

class MemoryConnection implements Connection {
  constructor(
    readonly address: string,
    private readonly transport: MemoryTransport,
  ) {}

  async call(head: RequestHead, body: Uint8Array, signal?: AbortSignal): Promise<Uint8Array> {
    const server = this.open(head, signal);
    const limit = this.limit(server);
    checkSize(body, limit);
    const ex = new Exchange(server, head.deadline, signal);
    const failed = new Promise<never>((_, reject) => {
      ex.onFail = reject;
    });
    const served = settle(() =>
      server.dispatcher.unary(inbound(head), body.slice(), ex.serverSignal),
    ).then(
      (reply) => {
        checkSize(reply, limit);
        return reply.slice();
      },
      (err: unknown) => {
        throw wireCopy(serverError(err));
      },
    );
    served.catch(() => {}); // the race below may settle on `failed` first
    try {
      return await Promise.race([served, failed]);
    } finally {
      ex.end();
    }
  }

  stream(head: RequestHead, signal?: AbortSignal): FrameStream {
    let server: MemoryServer;
    try {
      server = this.open(head, signal);
    } catch (err) {
      return failedStream(err as MicroError);
    }
    const stream = new MemoryStream(
      new Exchange(server, head.deadline, signal),
      this.limit(server),
    );
    const { dispatcher } = server;
    // As the grpc server: an endpoint not known as a stream is answered through unary().
    const serve =
      kindOf(dispatcher, head.endpoint) === 'stream'
        ? dispatcher.stream.bind(dispatcher)
        : unaryOverStream.bind(undefined, dispatcher);
    settle(() => serve(inbound(head), stream.serverEnd, stream.serverSignal)).then(
      () => stream.finish(),
      (err: unknown) => {
        const sent = wireCopy(serverError(err));
        stream.finish(sent, sent);
      },
    );
    return stream.clientEnd;
  }

  /** The server to talk to, or the error a socket would give. */
  private open(head: RequestHead, signal: AbortSignal | undefined): MemoryServer {
    if (signal?.aborted) throw cancelledError(signal.reason);
    const server = this.transport.serverAt(this.address);
    if (!server)
      throw transportFault(503, `connection refused: nothing listens on ${this.address}`, {
        beforeHandler: true,
        reason: 'refused',
      });
    if (head.deadline <= Date.now()) throw deadlineFault();
    return server;
  }

  /** Both ends' limits apply, as gRPC enforces them on send and on receive. */
  private limit(server: MemoryServer): number {
    return Math.min(this.transport.maxMessageBytes, server.maxMessageBytes);
  }
}

/**
 * A bidi stream between a client and a handler: a queue each way (send never reorders, and
 * resolves at once: memory needs no backpressure) and one way to end, {@link finish}.
 */
class MemoryStream {
  private readonly up = new AsyncQueue<Uint8Array>(); // client → handler
  private readonly down = new AsyncQueue<Uint8Array>(); // handler → client
  private over = false;
  /** Why the stream ended, for sends that come after. */
  private failure: MicroError | undefined;

  constructor(
    private readonly ex: Exchange,
    private readonly limit: number,
  ) {
    ex.onFail = (clientErr, serverReason) => this.finish(clientErr, serverError(serverReason));
  }

  get serverSignal(): AbortSignal {
    return this.ex.serverSignal;
  }

  /** Ends the stream: the client's iteration ends with `client`, the handler's with `handler`. */
  finish(client?: MicroError, handler?: MicroError): void {
    if (this.over) return;
    this.over = true;
    this.failure = client;
    this.ex.end();
    this.down.end(client);
    this.up.end(handler);
  }

  readonly clientEnd: FrameStream = {
    send: (body) => this.send(this.up, body),
    closeSend: () => this.up.end(),
    cancel: (err) => {
      const local = err ? MicroError.from(err, CLIENT_ERROR_ID) : cancelledError();
      this.ex.fail(local, wireCopy(local)); // the handler sees `err`, as over a wire
    },
    [Symbol.asyncIterator]: () => this.down,
  };

  readonly serverEnd: FrameStream = {
    send: (body) => this.send(this.down, body),
    closeSend: () => this.down.end(),
    cancel: (err) => {
      const sent = wireCopy(
        serverError(err ?? new MicroError(SERVER_ERROR_ID, 408, 'stream cancelled by the server')),
      );
      this.finish(sent, sent);
    },
    [Symbol.asyncIterator]: () => this.up,
  };

  private send(to: AsyncQueue<Uint8Array>, body: Uint8Array): Promise<void> {
    if (this.over)
      return Promise.reject(this.failure ?? new MicroError(CLIENT_ERROR_ID, 400, 'stream closed'));
    if (to.closed)
      return Promise.reject(new MicroError(CLIENT_ERROR_ID, 400, 'send after closeSend'));
    if (body.byteLength > this.limit) {
      // As in gRPC, an oversized message fails the whole call.
      const err = messageTooLarge(body.byteLength, this.limit);
      this.ex.fail(err, err);
      return Promise.reject(err);
    }
    to.push(body.slice());
    return Promise.resolve();
  }
}

/** A stream that never opened: sends and iteration fail with `err`. */
function failedStream(err: MicroError): FrameStream {
  return {
    send: () => Promise.reject(err),
    closeSend: () => {},
    cancel: () => {},
    [Symbol.asyncIterator]: () => ({ next: () => Promise.reject(err) }),
  };
}

function checkSize(body: Uint8Array, limit: number): void {
  if (body.byteLength > limit) throw messageTooLarge(body.byteLength, limit);
}

/** What the handler sees: the head as a peer would send it (metadata normalized again). */
function inbound(head: RequestHead): InboundHead {
  return {
    service: head.service,
    endpoint: head.endpoint,
    contentType: head.contentType,
    metadata: normalizeMetadata(head.metadata),
    deadline: head.deadline,
  };
}

/** An error as it arrives over a wire: the four go-micro fields, no cause, no fault, no stack. */
function wireCopy(err: MicroError): MicroError {
  return MicroError.fromJSON(err.toJSON(), SERVER_ERROR_ID);
}
