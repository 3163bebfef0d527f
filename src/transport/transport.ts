import type { Metadata } from '../metadata.js';

/**
 * Transports move encoded requests between a client and a server. They know nothing of codecs,
 * registries or handlers: a request is a head (endpoint, metadata, deadline) and body bytes; an
 * error is a {@link MicroError} on both ends, whatever the wire form.
 *
 * Implementations: `grpc` (standard gRPC, for go-micro and any gRPC peer), `mucp` (go-micro's
 * default RPC protocol over its HTTP transport), `native` (tsmicro's own multiplexed binary
 * frames, the fast path between tsmicro services), `dualPath` (a standard wire plus native at
 * once) and `memory` (in-process).
 */

/** Everything about a request except its body. */
export interface RequestHead {
  /** The target service name (a server may ignore it: it serves its own). */
  service: string;
  /** `Handler.Method`, e.g. `Greeter.Hello`. */
  endpoint: string;
  /** Content type of the body, e.g. `application/grpc+json`. */
  contentType: string;
  /** Caller metadata, keys lowercased, reserved keys already removed. */
  metadata: Metadata;
  /**
   * Absolute deadline, epoch ms, or `Infinity` for none (streams without a timeout). The transport
   * carries it to the peer and enforces it.
   */
  deadline: number;
}

/** A request as a server receives it: the head plus where it came from. */
export interface InboundHead extends RequestHead {
  /** Peer address, when the transport knows it. */
  remote?: string;
}

/**
 * A bidirectional stream of message bodies, on either end. Iterate it to receive; the iteration
 * ends when the peer closes its sending side and throws a MicroError when the stream fails.
 */
export interface FrameStream extends AsyncIterable<Uint8Array> {
  /**
   * Sends one body. Resolves when the transport can take more (backpressure); the caller may
   * then reuse `body`, unless it passed `handOver`: then the body is the transport's, which may
   * keep it until written instead of copying it (a codec's fresh output, never touched again).
   */
  send(body: Uint8Array, handOver?: boolean): Promise<void>;
  /** Half-closes: no more sends from this side. */
  closeSend(): void;
  /** Aborts the stream in both directions; the peer sees `err` (default: cancelled). */
  cancel(err?: Error): void;
}

/** Whether an endpoint takes one request and gives one response, or streams. */
export type EndpointKind = 'unary' | 'stream';

/** Where a call's abort signal comes from; `signal` may be made on first read. */
export interface SignalSource {
  readonly signal: AbortSignal;
}

/** A unary call as a transport hands it to {@link Dispatcher.serveUnary}. */
export interface UnaryCall extends SignalSource {
  /** The encoded reply. Exactly one of `replied` and `failed` is called, once. */
  replied(body: Uint8Array): void;
  /** The call failed; a MicroError is sent as it is. */
  failed(err: unknown): void;
}

/** What grpc.health.v1 calls a service's state: serving (ready for calls) or not. */
export type ServingStatus = 'SERVING' | 'NOT_SERVING';

/**
 * The serving status a server reports, per name: `''` is the whole server, other keys are the
 * service names it answers for. A transport with a standard health protocol (gRPC's
 * grpc.health.v1) answers it from this; others may ignore it.
 */
export interface ServingStatusSource {
  /** The current status of every name reported. */
  servingStatus(): ReadonlyMap<string, ServingStatus>;
  /** Calls `listener` on every change of a name's status; returns what stops the calls. */
  onServingStatus(listener: (name: string, status: ServingStatus) => void): () => void;
}

/** What a server gives a transport to answer requests. */
export interface Dispatcher {
  /**
   * The server's serving status, when it keeps one: a transport that speaks a standard health
   * protocol answers it from this (the gRPC transport serves grpc.health.v1 Check, Watch and
   * List), without going through the endpoints.
   */
  readonly health?: ServingStatusSource;
  /**
   * How `endpoint` is served, or undefined when the server does not know it (the transport then
   * still calls {@link unary}, which answers with a 404).
   */
  kind(endpoint: string): EndpointKind | undefined;
  /** Answers one unary request. Rejects with a MicroError to send an error. */
  unary(head: InboundHead, body: Uint8Array, signal: AbortSignal): Promise<Uint8Array>;
  /**
   * {@link unary} for transports on the hot path: the outcome goes to `call`'s callbacks instead
   * of a promise, and the signal is read from `call` only if the handler asks for it, so calls
   * nobody watches make no AbortController. Transports use it when it exists.
   */
  serveUnary?(head: InboundHead, body: Uint8Array, call: UnaryCall): void;
  /** Serves one stream until the returned promise settles (rejecting sends an error status). */
  stream(head: InboundHead, stream: FrameStream, signal: AbortSignal): Promise<void>;
}

/** Options for {@link Transport.listen}. */
export interface ListenOptions {
  /** Largest message accepted or sent, bytes. */
  maxMessageBytes?: number;
}

/** A bound server socket. */
export interface Listener {
  /** The bound address, `host:port` (the real port when listening on port 0). */
  readonly address: string;
  /**
   * Extra node metadata the server advertises for this listener (a dual-path listener puts its
   * second, native port here). Optional: most transports have none.
   */
  readonly metadata?: Readonly<Record<string, string>>;
  /**
   * Stops accepting new requests, lets in-flight ones finish for up to `graceMs`, then closes
   * every connection.
   */
  close(graceMs?: number): Promise<void>;
}

/** A (pooled) connection to one address. */
export interface Connection {
  readonly address: string;
  /** One request, one response. Rejects with a MicroError; transport faults carry `fault`. */
  call(head: RequestHead, body: Uint8Array, signal?: AbortSignal): Promise<Uint8Array>;
  /** Opens a bidirectional stream. */
  stream(head: RequestHead, signal?: AbortSignal): FrameStream;
}

/** Moves requests between clients and servers. */
export interface Transport {
  /** Short name, published in node metadata (`transport=<name>`, `protocol=<name>`). */
  readonly name: string;
  /**
   * The RPC protocol nodes serving this transport speak, when it is not `name`: published as
   * the node's `protocol` and `server` metadata. go-micro's HTTP transport is `http` and carries
   * the `mucp` protocol; a go-micro rpc client reads a node's `protocol` to pick its codecs.
   */
  readonly protocol?: string;
  /** Listens on `address` (`host:port`, port 0 for any free port). */
  listen(address: string, dispatcher: Dispatcher, opts?: ListenOptions): Promise<Listener>;
  /**
   * The connection for `address`, from the pool; cheap to call per request. `metadata` is the
   * node's registry metadata when the client knows it: a transport that can reach a node over
   * more than one wire (`dualPath`) picks by it; others ignore it.
   */
  dial(address: string, metadata?: Readonly<Record<string, string>>): Connection;
  /** Closes the pooled connection(s) to `address`, e.g. after the node died. */
  evict(address: string): void;
  /** Closes every client connection. Listeners are closed through their own `close()`. */
  close(): Promise<void>;
}

/** What the nodes serving `transport` say in their `protocol` metadata: its protocol, or its name. */
export function protocolOf(transport: Pick<Transport, 'name' | 'protocol'>): string {
  return transport.protocol ?? transport.name;
}
