import {
  Metadata as GrpcMetadata,
  ServerCredentials,
  credentials as grpcCredentials,
  status as GrpcStatus,
  type ChannelCredentials,
  type ChannelOptions,
  type InterceptingListener,
  type ServiceError,
  type StatusObject,
  type experimental,
} from '@grpc/grpc-js';
import type { Duplex } from 'node:stream';
import { DEFAULTS } from '../../defaults.js';
import { CLIENT_ERROR_ID, InvalidOptionError, MicroError } from '../../errors.js';
import { isReservedKey } from '../../metadata.js';
import { checkComponent, checkInteger } from '../../options.js';
import { toBuffer, view } from '../buffers.js';
import { cancelledError } from '../errors.js';
import { duplexFrameStream } from './duplex-frame-stream.js';
import { ChannelPool, type ChannelLease } from './pool.js';
import { listenGrpc } from './server.js';
import { errorFromStatus } from './status.js';
import type { TlsOptions } from '../tls.js';
import { explainTlsFailures, grpcTlsCredentials } from './tls.js';
import type {
  Connection,
  Dispatcher,
  FrameStream,
  ListenOptions,
  Listener,
  RequestHead,
  Transport,
} from '../transport.js';

export type { Pem, TlsOptions } from '../tls.js';

/**
 * A call on a grpc-js channel, below Client's interceptor layer (grpc-js exports it as
 * experimental).
 */
type CallStream = experimental.CallStream;

/** Options for {@link grpcTransport}. */
export interface GrpcTransportOptions {
  /**
   * Largest message sent or received, bytes, by client channels and (unless `listen()` is given
   * its own) servers. @defaultValue `DEFAULTS.maxMessageBytes` (4 MiB, as gRPC and go-micro)
   */
  maxMessageBytes?: number;
  /** A client channel unused this long is closed, ms. @defaultValue `DEFAULTS.poolIdleMs` (60 s) */
  poolIdleMs?: number;
  /** Client credentials (TLS goes here). @defaultValue plaintext, as go-micro's gRPC client */
  channelCredentials?: ChannelCredentials;
  /** Server credentials (TLS goes here). @defaultValue plaintext */
  serverCredentials?: ServerCredentials;
  /**
   * Extra grpc-js channel options; the size limits and the per-transport subchannel pool always
   * win. grpc-js client interceptors (`interceptors`, `interceptor_providers`,
   * `callInvocationTransformer`) are refused: wrap calls with the client's `wrapCall` instead.
   */
  channelOptions?: ChannelOptions;
  /** Extra grpc-js server options; the size limits always win. */
  serverOptions?: ChannelOptions;
  /**
   * TLS (or mutual TLS with `requireClientCert`) for both client channels and servers, from PEM
   * given inline or as files; see {@link TlsOptions}. Not combinable with `channelCredentials` /
   * `serverCredentials`. @defaultValue plaintext
   */
  tls?: TlsOptions;
}

/** grpc-js Client options (not channel options) that hook into each call. */
const CLIENT_ONLY_OPTIONS = [
  'interceptors',
  'interceptor_providers',
  'callInvocationTransformer',
] as const;

/**
 * Client keepalive: ping an HTTP/2 connection that has calls in flight every 5 min, and drop it
 * when a ping goes unanswered for 20 s. 5 min is grpc-go's server enforcement minimum
 * (keepalive.EnforcementPolicy.MinTime): pinging a go-micro server more often gets the
 * connection closed with "too_many_pings".
 */
const KEEPALIVE_OPTIONS: ChannelOptions = {
  'grpc.keepalive_time_ms': 300_000,
  'grpc.keepalive_timeout_ms': 20_000,
};

/**
 * Standard gRPC over @grpc/grpc-js, speaking go-micro's dialect (reference §5): the
 * `/<service>.<Handler>/<Method>` path, the `timeout` (ns) and `x-content-type` metadata, and
 * go-micro's error JSON in the status message. Plaintext unless credentials are given.
 */
export function grpcTransport(opts: GrpcTransportOptions = {}): Transport {
  const maxMessageBytes =
    checkInteger('grpcTransport.maxMessageBytes', opts.maxMessageBytes, 1) ??
    DEFAULTS.maxMessageBytes;
  const poolIdleMs =
    checkInteger('grpcTransport.poolIdleMs', opts.poolIdleMs, 1) ?? DEFAULTS.poolIdleMs;
  checkComponent('grpcTransport.channelCredentials', opts.channelCredentials, ['compose']);
  checkComponent('grpcTransport.serverCredentials', opts.serverCredentials, ['_isSecure']);
  // grpc-js reads these Client options from the same object as the channel options; unary calls
  // go to the channel directly (see GrpcConnection.call), so they would apply to streams only.
  for (const key of CLIENT_ONLY_OPTIONS) {
    if (opts.channelOptions?.[key] !== undefined) {
      throw new InvalidOptionError(
        `grpcTransport.channelOptions.${key}`,
        "grpc-js client interceptors are not applied by this transport; wrap calls with the client's wrapCall instead",
      );
    }
  }
  if (opts.tls === undefined) return new GrpcTransport(maxMessageBytes, poolIdleMs, opts);
  if (opts.channelCredentials || opts.serverCredentials) {
    throw new InvalidOptionError(
      'grpcTransport.tls',
      'give tls or channelCredentials/serverCredentials, not both',
    );
  }
  const tls = grpcTlsCredentials(opts.tls, 'grpcTransport.tls');
  return new GrpcTransport(maxMessageBytes, poolIdleMs, {
    ...opts,
    channelCredentials: tls.channel,
    channelOptions: { ...opts.channelOptions, ...tls.channelOptions },
    ...(tls.server
      ? { serverCredentials: tls.server }
      : {
          listenError:
            'grpcTransport.tls has no cert and key: this transport can dial but not listen',
        }),
  });
}

/**
 * The options after the TLS hook: `listenError` set when TLS was asked for without a server
 * certificate.
 */
type ResolvedOptions = GrpcTransportOptions & { listenError?: string };

class GrpcTransport implements Transport {
  readonly name = 'grpc';
  private readonly pool: ChannelPool;
  private readonly paths = new MethodPaths();

  constructor(
    private readonly maxMessageBytes: number,
    poolIdleMs: number,
    private readonly opts: ResolvedOptions,
  ) {
    this.pool = new ChannelPool({
      credentials: opts.channelCredentials ?? grpcCredentials.createInsecure(),
      idleMs: poolIdleMs,
      options: {
        ...KEEPALIVE_OPTIONS,
        // The client retries itself, on another node and within the budget. grpc-js's own retry
        // machinery would keep every message of a stream for replay and rescan that buffer on
        // each write (seen as most of the CPU of a long stream).
        'grpc.enable_retries': 0,
        ...opts.channelOptions,
        // Subchannels are otherwise shared process-wide: two transports (two services in one
        // process, or a test's client and server) would share sockets and evict each other's.
        'grpc.use_local_subchannel_pool': 1,
        'grpc.max_send_message_length': maxMessageBytes,
        'grpc.max_receive_message_length': maxMessageBytes,
      },
    });
  }

  listen(address: string, dispatcher: Dispatcher, opts: ListenOptions = {}): Promise<Listener> {
    const maxMessageBytes =
      checkInteger('listen.maxMessageBytes', opts.maxMessageBytes, 1) ?? this.maxMessageBytes;
    if (this.opts.listenError)
      return Promise.reject(new InvalidOptionError('grpcTransport.tls', this.opts.listenError));
    return listenGrpc(address, dispatcher, {
      credentials: this.opts.serverCredentials ?? ServerCredentials.createInsecure(),
      maxMessageBytes,
      options: this.opts.serverOptions ?? {},
    });
  }

  dial(address: string): Connection {
    const conn = new GrpcConnection(address, this.pool, this.paths);
    return this.opts.tls ? explainTlsFailures(conn) : conn;
  }

  evict(address: string): void {
    this.pool.evict(address);
  }

  async close(): Promise<void> {
    this.pool.close();
  }
}

/** Calls to one address; the channel itself comes from the pool per call, so this is cheap. */
class GrpcConnection implements Connection {
  constructor(
    readonly address: string,
    private readonly pool: ChannelPool,
    private readonly paths: MethodPaths,
  ) {}

  call(head: RequestHead, body: Uint8Array, signal?: AbortSignal): Promise<Uint8Array> {
    if (signal?.aborted) return Promise.reject(cancelledError(signal.reason));
    let metadata: GrpcMetadata;
    try {
      metadata = outboundMetadata(head);
    } catch (err) {
      return Promise.reject(MicroError.from(err, CLIENT_ERROR_ID)); // a 400 already
    }
    const lease = this.pool.acquire(this.address);
    return new Promise<Uint8Array>((resolve, reject) => {
      try {
        // The channel's own call, not Client#makeUnaryRequest: that wraps it in an interceptor
        // layer, an event emitter and a captured stack per call (12–30 % of the client's CPU here),
        // none of which a call without interceptors uses.
        const call = lease.client
          .getChannel()
          .createCall(
            this.paths.get(head.service, head.endpoint),
            wireDeadline(head.deadline),
            undefined,
            null,
            undefined,
          );
        call.start(metadata, new UnaryListener(call, lease, signal, resolve, reject));
        call.sendMessageWithContext({}, toBuffer(body));
        call.halfClose();
        call.startRead();
      } catch (err) {
        lease.release();
        reject(MicroError.from(err, CLIENT_ERROR_ID));
      }
    });
  }

  stream(head: RequestHead, signal?: AbortSignal): FrameStream {
    if (signal?.aborted) throw cancelledError(signal.reason);
    const metadata = outboundMetadata(head);
    const lease = this.pool.acquire(this.address);
    const call = lease.client.makeBidiStreamRequest(
      this.paths.get(head.service, head.endpoint),
      toBuffer,
      identity,
      metadata,
      { deadline: wireDeadline(head.deadline) },
    );
    // grpc-js pauses the call's HTTP/2 stream only when it hands a message to the readable, which
    // it does only after a first read: a stream nobody has read yet takes everything the server
    // sends into grpc-js's own queue, and HTTP/2 flow control never holds the server back. A
    // zero-byte read starts the readable's own pull, so the call stops at its high-water mark.
    call.read(0);
    // Set once the stream was cancelled from this side: what iteration and sends then throw.
    let cancelled: MicroError | undefined;
    const onAbort = (): void => {
      cancelled ??= cancelledError(signal?.reason);
      call.cancel();
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    // Every grpc-js call ends with exactly one 'status' event, whatever the outcome.
    call.once('status', () => {
      lease.release();
      signal?.removeEventListener('abort', onAbort);
    });
    // grpc-js types its streams as Readable & Writable intersections; the objects are Duplexes.
    return duplexFrameStream(call as unknown as Duplex, {
      toError: (err) =>
        cancelled ??
        (isServiceError(err) ? errorFromStatus(err, err) : MicroError.from(err, CLIENT_ERROR_ID)),
      // A client cannot send an error status; the server sees CANCELLED whatever `err` is.
      cancel: (err) => {
        cancelled ??= err ? MicroError.from(err, CLIENT_ERROR_ID) : cancelledError();
        call.cancel();
      },
    });
  }
}

/**
 * One unary call's outcome, as grpc-js reports it to a channel call: the reply message, then
 * exactly one status. OK without a message, or a second message, is an error (the checks
 * Client#makeUnaryRequest makes, except that a second message ends the call at once).
 */
class UnaryListener implements InterceptingListener {
  private reply: Buffer | undefined;
  private readonly onAbort: (() => void) | undefined;

  constructor(
    private readonly call: CallStream,
    private readonly lease: ChannelLease,
    private readonly signal: AbortSignal | undefined,
    private readonly resolve: (reply: Uint8Array) => void,
    private readonly reject: (err: MicroError) => void,
  ) {
    if (signal) {
      this.onAbort = () => call.cancelWithStatus(GrpcStatus.CANCELLED, 'Cancelled on client');
      signal.addEventListener('abort', this.onAbort, { once: true });
    }
  }

  onReceiveMetadata(): void {}

  onReceiveMessage(message: Buffer): void {
    if (this.reply !== undefined) {
      this.call.cancelWithStatus(GrpcStatus.UNIMPLEMENTED, 'Too many responses received');
      return;
    }
    this.reply = message;
    // grpc-js holds the status back while a message waits unread: reading on is what lets a
    // second message (a broken peer) end the call now rather than at its deadline.
    this.call.startRead();
  }

  onReceiveStatus(status: StatusObject): void {
    this.lease.release();
    if (this.onAbort) this.signal!.removeEventListener('abort', this.onAbort);
    if (this.signal?.aborted) {
      this.reject(cancelledError(this.signal.reason));
      return;
    }
    if (status.code === GrpcStatus.OK && this.reply !== undefined) {
      this.resolve(view(this.reply));
      return;
    }
    const st =
      status.code === GrpcStatus.OK
        ? { ...status, code: GrpcStatus.UNIMPLEMENTED, details: 'No message received' }
        : status;
    // The cause has the shape of the ServiceError grpc-js's own client would have given.
    this.reject(
      errorFromStatus(
        st,
        Object.assign(new Error(`${st.code} ${GrpcStatus[st.code]}: ${st.details}`), st),
      ),
    );
  }
}

/**
 * go-micro's client-side path (`methodToGRPC`, reference §5.1): `Handler.Method` on service `s`
 * → `/s.Handler/Method` (`/Handler/Method` when `s` is empty); an endpoint that already starts
 * with `/`, or is not exactly two dot-separated parts, is used verbatim.
 */
export function methodPath(service: string, endpoint: string): string {
  if (endpoint === '' || endpoint.startsWith('/')) return endpoint;
  const parts = endpoint.split('.');
  if (parts.length !== 2) return endpoint;
  return service === '' ? `/${parts[0]}/${parts[1]}` : `/${service}.${parts[0]}/${parts[1]}`;
}

/**
 * {@link methodPath}s already built, per service then endpoint: a call to the same endpoint skips
 * the split.
 */
class MethodPaths {
  private readonly paths = new Map<string, Map<string, string>>();
  private count = 0;

  get(service: string, endpoint: string): string {
    let paths = this.paths.get(service);
    let path = paths?.get(endpoint);
    if (path !== undefined) return path;
    // Callers choose names freely: the cache is bounded by starting over when full.
    if (++this.count > 1_000) {
      this.paths.clear();
      this.count = 1;
      paths = undefined;
    }
    if (!paths) this.paths.set(service, (paths = new Map<string, string>()));
    path = methodPath(service, endpoint);
    paths.set(endpoint, path);
    return path;
  }
}

/**
 * The request metadata on the wire: the caller's (reserved keys dropped again, in case a head
 * was built by hand), the remaining budget as go-micro's `timeout` in integer nanoseconds
 * (none for a stream without a deadline), and the go-micro content type.
 */
function outboundMetadata(head: RequestHead): GrpcMetadata {
  const md = new GrpcMetadata();
  const caller = head.metadata;
  try {
    for (const key in caller) {
      if (!isReservedKey(key.toLowerCase())) md.set(key, caller[key]);
    }
  } catch (err) {
    // grpc-js accepts only [0-9a-z_.-] keys and printable-ASCII values.
    throw MicroError.badRequest(CLIENT_ERROR_ID, `invalid metadata: ${(err as Error).message}`);
  }
  if (Number.isFinite(head.deadline)) {
    const ms = Math.max(0, Math.floor(head.deadline - Date.now()));
    // ms × 10^6 as decimal digits; BigInt arithmetic only for budgets too large to print exactly.
    md.set(
      'timeout',
      ms === 0
        ? '0'
        : Number.isSafeInteger(ms)
          ? `${ms}000000`
          : (BigInt(ms) * 1_000_000n).toString(),
    );
  }
  md.set('x-content-type', head.contentType);
  return md;
}

/**
 * grpc-timeout can say at most 99,999,999 hours (~11,000 years); grpc-js throws on a deadline
 * beyond that from inside the call, where nothing catches it: the call never settles. Such a
 * deadline means "none", so it is sent as none (the `timeout` metadata still carries it).
 */
const MAX_WIRE_TIMEOUT_MS = 99_999_999 * 3_600_000;
function wireDeadline(deadline: number): number {
  return deadline - Date.now() >= MAX_WIRE_TIMEOUT_MS ? Infinity : deadline;
}

function isServiceError(err: unknown): err is ServiceError {
  const e = err as Partial<ServiceError> | null;
  return (
    typeof e === 'object' &&
    e !== null &&
    typeof e.code === 'number' &&
    typeof e.details === 'string'
  );
}

const identity = (value: Buffer): Buffer => value;
