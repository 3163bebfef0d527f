import type tls from 'node:tls';
import { DEFAULTS } from '../../defaults.js';
import type { MicroError } from '../../errors.js';
import { InvalidOptionError } from '../../errors.js';
import { checkInteger } from '../../options.js';
import { cancelledError, deadlineFault, messageTooLarge } from '../errors.js';
import type { TlsOptions } from '../tls.js';
import { listenNative } from './server.js';
import { Session, type SessionConfig } from './session.js';
import { nativeTls } from './tls.js';
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

/** Options for {@link nativeTransport}. */
export interface NativeTransportOptions {
  /** Largest message sent or received, bytes. @defaultValue `DEFAULTS.maxMessageBytes` (4 MiB) */
  maxMessageBytes?: number;
  /**
   * A connection with no calls this long is closed, ms. @defaultValue `DEFAULTS.poolIdleMs` (60 s)
   */
  poolIdleMs?: number;
  /**
   * A connection not established (TCP connect, plus the TLS handshake when used) this long
   * fails its calls with a 503 "refused" fault, which the client retries elsewhere, ms.
   * @defaultValue `DEFAULTS.dialTimeoutMs` (5 s)
   */
  dialTimeoutMs?: number;
  /**
   * A connection silent this long is pinged, ms. @defaultValue `DEFAULTS.nativeKeepaliveMs` (30 s)
   */
  keepaliveMs?: number;
  /**
   * A ping unanswered this long drops the connection (its calls fail as reset), ms. @defaultValue
   * `DEFAULTS.nativeKeepaliveTimeoutMs` (20 s)
   */
  keepaliveTimeoutMs?: number;
  /**
   * TLS (or mutual TLS with `requireClientCert`) for both connections and listeners, from PEM
   * given inline or as files: the same {@link TlsOptions} the gRPC transport takes, so a
   * dual-path service gives both the same object. @defaultValue plaintext TCP
   */
  tls?: TlsOptions;
}

/**
 * tsmicro's own wire: length-prefixed binary frames multiplexed over one pooled TCP (or TLS)
 * connection per address. Same contract as the `grpc` transport — deadlines travel and are
 * enforced on both ends, cancellation reaches the handler's signal, errors are go-micro
 * MicroErrors, bidi streams with backpressure — at a fraction of HTTP/2's per-call cost.
 * Only tsmicro speaks it: a service offering it keeps gRPC for go-micro peers (see `dualPath`).
 */
export function nativeTransport(opts: NativeTransportOptions = {}): Transport {
  const secure = opts.tls === undefined ? undefined : nativeTls(opts.tls, 'nativeTransport.tls');
  const config: SessionConfig = {
    maxMessageBytes:
      checkInteger('nativeTransport.maxMessageBytes', opts.maxMessageBytes, 1) ??
      DEFAULTS.maxMessageBytes,
    idleMs: checkInteger('nativeTransport.poolIdleMs', opts.poolIdleMs, 1) ?? DEFAULTS.poolIdleMs,
    keepaliveMs:
      checkInteger('nativeTransport.keepaliveMs', opts.keepaliveMs, 1) ??
      DEFAULTS.nativeKeepaliveMs,
    keepaliveTimeoutMs:
      checkInteger('nativeTransport.keepaliveTimeoutMs', opts.keepaliveTimeoutMs, 1) ??
      DEFAULTS.nativeKeepaliveTimeoutMs,
    dialTimeoutMs:
      checkInteger('nativeTransport.dialTimeoutMs', opts.dialTimeoutMs, 1) ??
      DEFAULTS.dialTimeoutMs,
    tls: secure?.client,
  };
  return new NativeTransport(config, secure?.server, secure !== undefined);
}

class NativeTransport implements Transport {
  readonly name = 'native';
  private readonly sessions = new Map<string, Session>();
  private readonly conns = new Map<string, NativeConnection>();

  constructor(
    private readonly config: SessionConfig,
    private readonly serverTls: tls.TlsOptions | undefined,
    /** TLS was asked for: without `serverTls` this transport only dials (never listens plain). */
    private readonly secure: boolean,
  ) {}

  listen(address: string, dispatcher: Dispatcher, opts: ListenOptions = {}): Promise<Listener> {
    if (this.secure && !this.serverTls)
      return Promise.reject(
        new InvalidOptionError(
          'nativeTransport.tls',
          'has no cert and key: this transport can dial but not listen',
        ),
      );
    const maxMessageBytes =
      checkInteger('listen.maxMessageBytes', opts.maxMessageBytes, 1) ??
      this.config.maxMessageBytes;
    return listenNative(address, dispatcher, { maxMessageBytes, tls: this.serverTls });
  }

  dial(address: string): Connection {
    let conn = this.conns.get(address);
    if (!conn) {
      conn = new NativeConnection(address, this);
      this.conns.set(address, conn);
    }
    return conn;
  }

  /** The live session to `address`, connecting one when there is none (or it is draining). */
  session(address: string): Session {
    const existing = this.sessions.get(address);
    if (existing?.usable) return existing;
    const session = new Session(address, this.config, (gone) => {
      if (this.sessions.get(address) === gone) this.sessions.delete(address);
    });
    this.sessions.set(address, session);
    return session;
  }

  get maxMessageBytes(): number {
    return this.config.maxMessageBytes;
  }

  evict(address: string): void {
    this.sessions.get(address)?.close();
    this.conns.delete(address);
  }

  async close(): Promise<void> {
    for (const session of [...this.sessions.values()]) session.close();
    this.conns.clear();
  }
}

/** Calls to one address, cached per address so dial() allocates nothing on the hot path. */
class NativeConnection implements Connection {
  constructor(
    readonly address: string,
    private readonly transport: NativeTransport,
  ) {}

  call(head: RequestHead, body: Uint8Array, signal?: AbortSignal): Promise<Uint8Array> {
    const now = Date.now();
    const failed = this.precheck(head, signal, now);
    if (failed) return Promise.reject(failed);
    const limit = this.transport.maxMessageBytes;
    if (body.byteLength > limit) return Promise.reject(messageTooLarge(body.byteLength, limit));
    return this.transport.session(this.address).call(head, body, signal, now);
  }

  stream(head: RequestHead, signal?: AbortSignal): FrameStream {
    const failed = this.precheck(head, signal, Date.now());
    if (failed) throw failed;
    return this.transport.session(this.address).stream(head, signal);
  }

  /** The error a call fails with before anything is sent, if any. */
  private precheck(
    head: RequestHead,
    signal: AbortSignal | undefined,
    now: number,
  ): MicroError | undefined {
    if (signal?.aborted) return cancelledError(signal.reason);
    if (head.deadline <= now) return deadlineFault();
    return undefined;
  }
}
