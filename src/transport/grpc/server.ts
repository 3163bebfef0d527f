import {
  Server,
  type ChannelOptions,
  type Deadline,
  type ServerCredentials,
  type ServerDuplexStream,
  type ServerUnaryCall,
  type ServiceDefinition,
  type UntypedServiceImplementation,
  type handleBidiStreamingCall,
  type handleUnaryCall,
  type sendUnaryData,
} from '@grpc/grpc-js';
import type { Duplex } from 'node:stream';
import { DeadlineExceeded, clampTimeout } from '../../context.js';
import { MicroError, SERVER_ERROR_ID } from '../../errors.js';
import { LazyAbort } from '../../internal/lazy-abort.js';
import { isReservedKey, type Metadata } from '../../metadata.js';
import { joinHostPort } from '../../options.js';
import { toBuffer, view } from '../buffers.js';
import { dispatchUnary, kindOf, settle, unaryOverStream } from '../dispatch.js';
import { serverError } from '../errors.js';
import { listenAddress } from '../listen-address.js';
import type { Dispatcher, FrameStream, InboundHead, Listener, UnaryCall } from '../transport.js';
import { duplexFrameStream } from './duplex-frame-stream.js';
import { serveGrpcHealth, type GrpcHealthService } from './health-service.js';
import { statusFromError } from './status.js';

/** How {@link listenGrpc} builds its server. */
export interface GrpcServerConfig {
  credentials: ServerCredentials;
  /** Largest message received or sent, bytes. */
  maxMessageBytes: number;
  /** Extra grpc-js server options, applied under the size limits. */
  options: ChannelOptions;
}

/** The content type go-micro assumes when a request names none (reference §5.2): protobuf. */
const DEFAULT_CONTENT_TYPE = 'application/grpc';
/**
 * grpc-js drops the standard `content-type` header from the metadata it hands to handlers; the
 * server copies it under this key first (see DispatchingServer) so the codec can be negotiated.
 */
const CONTENT_TYPE_COPY = 'x-tsmicro-grpc-content-type';

/** Binds a gRPC server on `address` that answers every path through `dispatcher`. */
export async function listenGrpc(
  address: string,
  dispatcher: Dispatcher,
  config: GrpcServerConfig,
): Promise<Listener> {
  const parsed = listenAddress(address);
  const server = new DispatchingServer(
    {
      ...config.options,
      'grpc.max_receive_message_length': config.maxMessageBytes,
      'grpc.max_send_message_length': config.maxMessageBytes,
    },
    router(dispatcher),
  );
  const health = dispatcher.health ? await serveGrpcHealth(server, dispatcher.health) : undefined;
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(joinHostPort(parsed.host, parsed.port), config.credentials, (err, bound) => {
      if (err) {
        health?.close();
        server.forceShutdown();
        reject(err);
      } else resolve(bound);
    });
  });
  return new GrpcListener(server, joinHostPort(parsed.host, port), health);
}

class GrpcListener implements Listener {
  private closing: Promise<void> | undefined;
  constructor(
    private readonly server: Server,
    readonly address: string,
    private readonly health: GrpcHealthService | undefined,
  ) {}

  close(graceMs = 0): Promise<void> {
    this.closing ??= new Promise((resolve) => {
      // Open Watch calls would otherwise hold tryShutdown for the whole grace period.
      this.health?.close();
      // tryShutdown refuses new calls and waits for in-flight ones; forceShutdown then resets
      // whatever is left, which also completes the tryShutdown callback.
      const timer = setTimeout(() => this.server.forceShutdown(), clampTimeout(graceMs));
      this.server.tryShutdown(() => {
        clearTimeout(timer);
        resolve();
      });
    });
    return this.closing;
  }
}

/**
 * The per-method entry grpc-js keeps (server.js `handlers` map); grpc-js does not export its type.
 */
type Handler =
  | {
      type: 'unary';
      func: handleUnaryCall<Buffer, Buffer>;
      serialize: Serialize;
      deserialize: Serialize;
      path: string;
    }
  | {
      type: 'bidi';
      func: handleBidiStreamingCall<Buffer, Buffer>;
      serialize: Serialize;
      deserialize: Serialize;
      path: string;
    };
type Serialize = (value: Buffer) => Buffer;
const identity: Serialize = (value) => value;

/**
 * A grpc-js Server that routes every path itself. grpc-js has no unknown-service handler and
 * looks handlers up by exact path (before interceptors run), answering UNIMPLEMENTED for any
 * path not registered — but go-micro dispatches on the last dot segment of the service part,
 * whatever the package, and answers unknown endpoints with its own 404. So the lookup method,
 * `_retrieveHandler(path)` (present in the JS, private in the typings), is replaced per instance.
 * Services added with `addService` (grpc.health.v1) keep their exact paths, served by grpc-js.
 */
class DispatchingServer extends Server {
  /** The paths of services added with addService, which grpc-js itself serves. */
  private readonly added = new Set<string>();

  constructor(options: ChannelOptions, route: (path: string) => Handler) {
    super(options);
    const self = this as unknown as {
      _retrieveHandler?: (path: string) => Handler | null;
      _verifyContentType?: VerifyContentType;
    };
    const registered = self._retrieveHandler;
    const verify = self._verifyContentType;
    if (typeof registered !== 'function' || typeof verify !== 'function') {
      throw new Error(
        "@grpc/grpc-js no longer has Server#_retrieveHandler/_verifyContentType; tsmicro's gRPC transport must be updated for this grpc-js version",
      );
    }
    self._retrieveHandler = (path) =>
      (this.added.has(path) ? registered.call(this, path) : null) ?? route(path);
    // Runs on the request headers before grpc-js turns them into metadata without content-type.
    // Only a specific type is copied: plain `application/grpc` (every grpc-js client, tsmicro's
    // included) means the same to negotiate() as none, and one header less is cheaper per call.
    self._verifyContentType = function (this: unknown, stream, headers) {
      const ct = headers['content-type'];
      if (typeof ct === 'string' && isSpecificGrpcType(ct)) headers[CONTENT_TYPE_COPY] = ct;
      else delete headers[CONTENT_TYPE_COPY];
      return verify.call(this, stream, headers);
    };
  }

  override addService(
    service: ServiceDefinition,
    implementation: UntypedServiceImplementation,
  ): void {
    super.addService(service, implementation);
    for (const method of Object.values(service)) this.added.add(method.path);
  }
}

type VerifyContentType = (
  stream: unknown,
  headers: Record<string, string | string[] | undefined>,
) => boolean;

/**
 * The lookup: one handler object per path, carrying the method name parsed from it, kept in a
 * bounded cache (paths are caller-chosen, so it starts over when full). Each path needs its own
 * object anyway, because grpc-js reports `handler.path` — not the request's — as
 * `call.getPath()`; holding the parsed name there spares every call a parse or a lookup.
 */
function router(dispatcher: Dispatcher): (path: string) => Handler {
  const peers = new PeerAddresses();
  const serveStream: Serve = (h, f, s) => dispatcher.stream(h, f, s);
  // Unknown endpoints are served as streams so the 404 does not wait for a half-close.
  const serveUnknown: Serve = (h, f, s) => unaryOverStream(dispatcher, h, f, s);
  const handlers = new Map<string, Handler>();
  return (path) => {
    let handler = handlers.get(path);
    if (handler !== undefined) return handler;
    const name = parseMethodPath(path);
    const kind = name ? (kindOf(dispatcher, name.endpoint) ?? 'unknown') : 'malformed';
    if (!name)
      handler = {
        type: 'bidi',
        func: malformedFunc,
        serialize: identity,
        deserialize: identity,
        path,
      };
    else if (kind === 'unary')
      handler = {
        type: 'unary',
        func: unaryFunc(dispatcher, name, peers),
        serialize: identity,
        deserialize: identity,
        path,
      };
    else
      handler = {
        type: 'bidi',
        func: streamFunc(kind === 'stream' ? serveStream : serveUnknown, name, peers),
        serialize: identity,
        deserialize: identity,
        path,
      };
    // Unknown endpoints are not remembered: one may be registered later, and their paths are
    // whatever a caller sends.
    if (kind === 'unknown') return handler;
    if (handlers.size >= PATH_CACHE_ENTRIES) handlers.clear();
    handlers.set(path, handler);
    return handler;
  };
}

const PATH_CACHE_ENTRIES = 1_000;

/** The method a path names, as go-micro splits it. */
interface MethodName {
  service: string;
  endpoint: string;
}

/**
 * Peer addresses as tsmicro writes them; calls on one connection share theirs, so the last is
 * remembered.
 */
class PeerAddresses {
  private lastPeer: string | undefined;
  private lastAddress: string | undefined;

  of(peer: string): string | undefined {
    if (peer !== this.lastPeer) {
      this.lastPeer = peer;
      this.lastAddress = peerAddress(peer);
    }
    return this.lastAddress;
  }
}

/**
 * go-micro's server-side path split: `/X/Y` → endpoint `<last dot segment of X>.Y`, service =
 * the rest of X (reference §5.1). Undefined for a malformed path.
 */
export function parseMethodPath(path: string): MethodName | undefined {
  const m = /^\/([^/]+)\/([^/]+)$/.exec(path);
  if (!m) return undefined;
  const [, x = '', method = ''] = m;
  const dot = x.lastIndexOf('.');
  const handler = x.slice(dot + 1);
  if (handler === '') return undefined;
  return { service: dot < 0 ? '' : x.slice(0, dot), endpoint: `${handler}.${method}` };
}

function unaryFunc(
  dispatcher: Dispatcher,
  name: MethodName,
  peers: PeerAddresses,
): handleUnaryCall<Buffer, Buffer> {
  return (call, callback) => {
    const inbound = openInbound(call, name, peers);
    inbound.callback = callback;
    dispatchUnary(dispatcher, inbound.head, view(call.request), inbound);
  };
}

type Serve = (head: InboundHead, frames: FrameStream, signal: AbortSignal) => Promise<void>;

/**
 * A bidi call served by `serve` over a FrameStream; resolving ends it OK, rejecting with an error
 * status.
 */
function streamFunc(
  serve: Serve,
  name: MethodName,
  peers: PeerAddresses,
): handleBidiStreamingCall<Buffer, Buffer> {
  return (call) => {
    const inbound = openInbound(call, name, peers);
    // The error this side ended the call with; later sends reject with it.
    let sent: MicroError | undefined;
    const fail = (err: unknown): void => {
      sent ??= serverError(err);
      // grpc-js's way to end a server stream with a status: an 'error' event carrying it.
      call.emit('error', statusFromError(sent));
    };
    // grpc-js types its streams as Readable & Writable intersections; the objects are Duplexes.
    const frames = duplexFrameStream(call as unknown as Duplex, {
      toError: (err) => sent ?? (call.cancelled ? cancelledByClient() : serverError(err)),
      // A status error is the only way a gRPC server aborts a call; grpc-js sends it once
      // queued messages are out.
      cancel: (err) =>
        fail(err ?? new MicroError(SERVER_ERROR_ID, 408, 'stream cancelled by the server')),
      // A grpc-js (Node http2) client cancels by ending its side (END_STREAM) and then sending
      // RST_STREAM, so the handler first sees an end of input just like a half-close, and
      // grpc-js marks the call cancelled only when the reset arrives. When both frames came in
      // one read (the usual case) the reset has been processed by the next setImmediate, and
      // iteration throws instead of ending cleanly. Best effort: frames that arrive apart still
      // look like a half-close, which no server can tell apart (grpc-go's Recv returns EOF too).
      checkEnd: async () => {
        await new Promise((resolve) => setImmediate(resolve));
        return call.cancelled ? cancelledByClient() : undefined;
      },
    });
    settle(() => serve(inbound.head, frames, inbound.signal)).then(
      () => {
        inbound.end();
        if (!call.writableEnded) call.end();
      },
      (err: unknown) => {
        inbound.end();
        fail(err);
      },
    );
  };
}

/** A path that is not `/X/Y`: answered at once, whatever the client sends. */
const malformedFunc: handleBidiStreamingCall<Buffer, Buffer> = (call) => {
  call.emit(
    'error',
    statusFromError(
      MicroError.badRequest(
        SERVER_ERROR_ID,
        `malformed method path ${JSON.stringify(call.getPath())}`,
      ),
    ),
  );
};

/**
 * The abort of one inbound call: the client cancelling, or its deadline passing. The signal and
 * the deadline timer are made only when the handler reads the signal; grpc-js enforces the
 * deadline on the wire itself.
 */
class Inbound extends LazyAbort implements UnaryCall {
  head!: InboundHead;
  /** Where a unary call's outcome goes (streams end through their call object). */
  callback: sendUnaryData<Buffer> | undefined;
  private ended = false;
  private timer: NodeJS.Timeout | undefined;

  private onCancelled: (() => void) | undefined;

  constructor(
    private readonly call: GrpcServerCall,
    private readonly deadline: number,
  ) {
    super();
  }

  /**
   * The client's cancel and the deadline are watched only once the signal exists: until someone
   * reads it, nothing could see it abort (a cancel that came before is caught up on here).
   */
  protected override armed(): void {
    if (this.ended) return;
    if (this.call.cancelled) {
      this.abort(cancelledByClient());
      return;
    }
    // grpc-js also emits 'cancelled' after a call completed normally; only a live call aborts.
    this.onCancelled = () => {
      if (!this.ended) this.abort(cancelledByClient());
    };
    this.call.on('cancelled', this.onCancelled);
    if (!Number.isFinite(this.deadline)) return;
    if (Date.now() >= this.deadline) {
      this.abort(new DeadlineExceeded());
      return;
    }
    this.timer = setTimeout(abortAtDeadline, clampTimeout(this.deadline - Date.now()), this);
    this.timer.unref();
  }

  replied(body: Uint8Array): void {
    if (this.ended) return;
    this.end();
    this.callback?.(null, toBuffer(body));
  }

  failed(err: unknown): void {
    if (this.ended) return;
    this.end();
    this.callback?.(statusFromError(serverError(err)));
  }

  end(): void {
    this.ended = true;
    clearTimeout(this.timer);
    if (this.onCancelled) this.call.off('cancelled', this.onCancelled);
  }
}

function abortAtDeadline(inbound: Inbound): void {
  inbound.abort(new DeadlineExceeded());
}

type GrpcServerCall = ServerUnaryCall<Buffer, Buffer> | ServerDuplexStream<Buffer, Buffer>;

/** The head, signal and cleanup of one inbound call. */
function openInbound(
  call: GrpcServerCall,
  { service, endpoint }: MethodName,
  peers: PeerAddresses,
): Inbound {
  const raw = call.metadata.toJSON();
  const contentType = negotiate(first(raw[CONTENT_TYPE_COPY]), first(raw['x-content-type']));
  const md = plainMetadata(raw);
  const now = Date.now();
  // go-micro clients send their budget twice: grpc-timeout and `timeout` (ns); the smaller wins.
  // No deadline at all stays Infinity, as the interface allows (a long-lived stream).
  const deadline = Math.min(deadlineMs(call.getDeadline()), now + budgetMs(first(raw.timeout)));
  const inbound = new Inbound(call, deadline);
  const remote = peers.of(call.getPeer());
  inbound.head =
    remote === undefined
      ? { service, endpoint, contentType, metadata: md, deadline }
      : { service, endpoint, contentType, metadata: md, deadline, remote };
  return inbound;
}

/**
 * The request's codec, as a go-micro server picks it but for the one header @grpc/grpc-js cannot
 * change: a specific `content-type` (`application/grpc+json`, sent by grpc-go and go-micro
 * clients) wins; plain `application/grpc` — which grpc-js clients, tsmicro's included, always
 * send — defers to go-micro's `x-content-type`; with neither, protobuf, as every gRPC client means.
 */
export function negotiate(header: string | undefined, xContentType: string | undefined): string {
  if (header !== undefined && isSpecificGrpcType(header)) return header;
  return xContentType || DEFAULT_CONTENT_TYPE;
}

/** `application/grpc+<subtype>`, any case. */
function isSpecificGrpcType(contentType: string): boolean {
  return contentType.length >= 17 && contentType.slice(0, 17).toLowerCase() === 'application/grpc+';
}

/**
 * grpc-js metadata as tsmicro metadata: repeated values joined with ", " (as go-micro), binary
 * keys skipped, reserved keys (the content-type copy among them) dropped. grpc-js keys are
 * already lowercase. Own keys only: grpc-js's toJSON assigns a `__proto__` key as the object's
 * prototype (the caller's values array), whose indices `for…in` would then walk as keys; such a
 * key is dropped, as it cannot be a key of a plain metadata object anyway.
 */
function plainMetadata(raw: Record<string, (string | Buffer)[]>): Metadata {
  const out: Record<string, string> = {};
  for (const key of Object.keys(raw)) {
    if (key.endsWith('-bin') || key === CONTENT_TYPE_COPY || isReservedKey(key)) continue;
    const values = raw[key];
    if (values.length === 1) {
      if (typeof values[0] === 'string') out[key] = values[0];
      continue;
    }
    const strings = values.filter((v): v is string => typeof v === 'string');
    if (strings.length > 0) out[key] = strings.join(', ');
  }
  return out;
}

function first(values: (string | Buffer)[] | undefined): string | undefined {
  const v = values?.[0];
  return typeof v === 'string' ? v : undefined;
}

function deadlineMs(deadline: Deadline): number {
  return deadline instanceof Date ? deadline.getTime() : deadline;
}

/**
 * go-micro's `timeout` metadata (decimal nanoseconds) in ms; Infinity when absent or unparsable.
 */
function budgetMs(ns: string | undefined): number {
  return ns !== undefined && /^\d{1,19}$/.test(ns) ? Number(ns) / 1e6 : Infinity;
}

/** grpc-js prints IPv6 peers unbracketed (`::1:5000`); bracket them as every address here is. */
function peerAddress(peer: string): string | undefined {
  const i = peer.lastIndexOf(':');
  if (i <= 0 || !/^\d+$/.test(peer.slice(i + 1))) return peer === 'unknown' ? undefined : peer;
  return joinHostPort(peer.slice(0, i), Number(peer.slice(i + 1)));
}

function cancelledByClient(): MicroError {
  return new MicroError(SERVER_ERROR_ID, 408, 'call cancelled by the client');
}
