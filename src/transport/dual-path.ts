import { DEFAULTS } from '../defaults.js';
import { InvalidOptionError, MicroError } from '../errors.js';
import { checkComponent, checkInteger, joinHostPort, parseAddress } from '../options.js';
import { grpcTransport } from './grpc/grpc.js';
import { mucpTransport } from './mucp/mucp.js';
import { nativeTransport } from './native/native.js';
import type {
  Connection,
  Dispatcher,
  FrameStream,
  ListenOptions,
  Listener,
  RequestHead,
  Transport,
} from './transport.js';
import { protocolOf } from './transport.js';

/**
 * Node metadata key under which a dual-path node advertises its native transport's port. The
 * host is the node address's host, so `advertise` and address rewriting apply to both paths.
 */
export const NATIVE_PORT_KEY = 'tsmicro-native-port';

/** Options for {@link dualPathTransport}. */
export interface DualPathOptions {
  /**
   * The standard path, whose address is the node address: gRPC, or `mucpTransport()` for nodes
   * that go-micro's default (rpc/HTTP) clients call. @defaultValue `grpcTransport()`
   */
  grpc?: Transport;
  /** The fast path, advertised in node metadata. @defaultValue `nativeTransport()` */
  native?: Transport;
  /** Port of the native listener; 0 picks a free one. @defaultValue 0 */
  nativePort?: number;
  /**
   * After a node's native port refused a connection (or did not answer within the native
   * transport's dial timeout), calls to that node go over gRPC for this long before native is
   * tried again, ms. @defaultValue `DEFAULTS.nativeRetryMs` (30 s)
   */
  nativeRetryMs?: number;
}

/**
 * Serves every request on two wires at once and calls over the fastest one a node offers.
 *
 * A server listens with both: gRPC at the node address (what go-micro and any gRPC peer dial)
 * and the native transport on a second port, advertised as the `tsmicro-native-port` node
 * metadata. A client dials the native port when the node advertises one and gRPC otherwise, so
 * tsmicro-to-tsmicro calls take the fast path and go-micro nodes still get gRPC. The transport's
 * name and protocol are the standard path's (`grpc`, or `http`/`mucp`): that is what the node's
 * `transport`/`protocol` metadata must say for Go peers.
 *
 * A node with no native port whose `protocol` metadata names the other standard wire is called
 * over that one: a gRPC-first client reaches go-micro's default nodes (`protocol=mucp`) over
 * mucp, an mucp-first one go-micro's gRPC nodes over gRPC.
 *
 * A native port the client cannot reach (a firewall, a container publishing only the gRPC
 * port, an `advertise` address that forwards one port) costs nothing but time: a unary call
 * refused there is sent again over gRPC at once — it never reached the server — and that node
 * is called over gRPC for `nativeRetryMs`. Streams take gRPC while the node is in that state and
 * native otherwise; a stream refused on native fails (503, retryable) rather than switching
 * wires, and puts the node in that state.
 */
export function dualPathTransport(opts: DualPathOptions = {}): Transport {
  const grpc = checkComponent('dualPath.grpc', opts.grpc, ['listen', 'dial']) ?? grpcTransport();
  const native =
    checkComponent('dualPath.native', opts.native, ['listen', 'dial']) ?? nativeTransport();
  const nativePort = opts.nativePort ?? 0;
  if (!Number.isInteger(nativePort) || nativePort < 0 || nativePort > 65535)
    throw new InvalidOptionError(
      'dualPath.nativePort',
      `expected a port number, got ${String(nativePort)}`,
    );
  const nativeRetryMs =
    checkInteger('dualPath.nativeRetryMs', opts.nativeRetryMs, 0) ?? DEFAULTS.nativeRetryMs;
  // The other standard wire, for nodes that offer nothing else: a go-micro default node
  // (protocol=mucp) from a gRPC client, a go-micro gRPC node from an mucp one. Made lazily.
  const other = protocolOf(grpc) === 'mucp' ? grpcTransport : mucpTransport;
  return new DualPathTransport(grpc, native, nativePort, nativeRetryMs, other);
}

class DualPathTransport implements Transport {
  readonly name: string;
  readonly protocol: string | undefined;
  /** gRPC address → the connection trying that node's native port first (evict() reaches both). */
  private readonly nativeFirst = new Map<string, NativeFirstConnection>();
  /** gRPC address → epoch ms until which its native port is skipped. Outlives evict(). */
  private readonly nativeDownUntil = new Map<string, number>();

  constructor(
    readonly grpc: Transport,
    readonly native: Transport,
    private readonly nativePort: number,
    private readonly nativeRetryMs: number,
    private readonly makeOther: () => Transport,
  ) {
    this.name = grpc.name;
    this.protocol = grpc.protocol;
  }

  private other?: Transport;

  /**
   * The wire to `metadata`'s node when native is not used: the standard path, or the other
   * standard wire for a node whose `protocol` says it speaks only that (go-micro's nodes do).
   */
  standardFor(metadata: Readonly<Record<string, string>> | undefined): Transport {
    const wanted = metadata?.protocol;
    if (wanted === undefined || wanted === protocolOf(this.grpc)) return this.grpc;
    this.other ??= this.makeOther();
    return wanted === protocolOf(this.other) ? this.other : this.grpc;
  }

  /**
   * What logs call it (go-micro's `Transport.String()`): `name` must stay the standard path's
   * for the node metadata Go peers read, but a log line saying only that would hide native.
   */
  toString(): string {
    return `dual-path(${this.grpc.name}+${this.native.name})`;
  }

  async listen(address: string, dispatcher: Dispatcher, opts?: ListenOptions): Promise<Listener> {
    const slow = await this.grpc.listen(address, dispatcher, opts);
    let fast: Listener;
    try {
      const host = parseAddress(slow.address)?.host ?? '127.0.0.1';
      fast = await this.native.listen(joinHostPort(host, this.nativePort), dispatcher, opts);
    } catch (err) {
      await slow.close();
      throw err;
    }
    const port = parseAddress(fast.address)?.port ?? 0;
    return {
      address: slow.address,
      metadata: { [NATIVE_PORT_KEY]: String(port) },
      close: async (graceMs) => {
        await Promise.all([slow.close(graceMs), fast.close(graceMs)]);
      },
    };
  }

  dial(address: string, metadata?: Readonly<Record<string, string>>): Connection {
    const port = metadata?.[NATIVE_PORT_KEY];
    const standard = this.standardFor(metadata);
    if (port === undefined) return standard.dial(address);
    const known = this.nativeFirst.get(address);
    if (known !== undefined && known.port === port && known.standard === standard) return known;
    const parsed = parseAddress(address);
    if (!parsed || !/^\d{1,5}$/.test(port) || Number(port) > 65535) return standard.dial(address);
    // A node back at the same address on another native port: the old port is of no more use.
    if (known !== undefined) this.native.evict(known.fastAddress);
    const conn = new NativeFirstConnection(
      address,
      port,
      joinHostPort(parsed.host, Number(port)),
      this,
      standard,
    );
    this.nativeFirst.set(address, conn);
    return conn;
  }

  /** True while `address`'s native port is being skipped. */
  nativeDown(address: string): boolean {
    const until = this.nativeDownUntil.get(address);
    if (until === undefined) return false;
    if (Date.now() < until) return true;
    this.nativeDownUntil.delete(address);
    return false;
  }

  markNativeDown(address: string): void {
    this.nativeDownUntil.set(address, Date.now() + this.nativeRetryMs);
  }

  evict(address: string): void {
    this.grpc.evict(address);
    this.other?.evict(address);
    const conn = this.nativeFirst.get(address);
    if (conn !== undefined) {
      this.nativeFirst.delete(address);
      this.native.evict(conn.fastAddress);
    }
  }

  async close(): Promise<void> {
    this.nativeFirst.clear();
    this.nativeDownUntil.clear();
    await Promise.all([this.grpc.close(), this.native.close(), this.other?.close()]);
  }
}

/**
 * Calls to one dual-path node: native first, gRPC when native is refused. Once a native call
 * has been answered the node is known to be reachable there, and calls go straight to the native
 * connection with nothing in between (no promise of this class per call).
 */
class NativeFirstConnection implements Connection {
  private proven = false;

  constructor(
    readonly address: string,
    readonly port: string,
    readonly fastAddress: string,
    private readonly paths: DualPathTransport,
    /** Where calls go when native is refused: the node's standard wire. */
    readonly standard: Transport,
  ) {}

  call(head: RequestHead, body: Uint8Array, signal?: AbortSignal): Promise<Uint8Array> {
    if (this.proven) return this.paths.native.dial(this.fastAddress).call(head, body, signal);
    if (this.paths.nativeDown(this.address))
      return this.standard.dial(this.address).call(head, body, signal);
    return this.paths.native
      .dial(this.fastAddress)
      .call(head, body, signal)
      .then(
        (reply) => {
          this.proven = true;
          return reply;
        },
        (err: unknown) => {
          if (!refused(err)) {
            // The server answered (an error of its own): native is reachable.
            if (MicroError.is(err) && !err.fault) this.proven = true;
            throw err;
          }
          // Nothing reached the server, so sending the same request again is safe for any call.
          this.paths.markNativeDown(this.address);
          return this.standard.dial(this.address).call(head, body, signal);
        },
      );
  }

  stream(head: RequestHead, signal?: AbortSignal): FrameStream {
    if (this.proven) return this.paths.native.dial(this.fastAddress).stream(head, signal);
    if (this.paths.nativeDown(this.address))
      return this.standard.dial(this.address).stream(head, signal);
    return this.watched(this.paths.native.dial(this.fastAddress).stream(head, signal));
  }

  /**
   * A native stream to a node not yet known to be reachable there. Its messages may already be
   * queued when the connection is refused, so it is not moved to gRPC: it fails (a retryable
   * 503), and the refusal sends this node's next calls and streams over gRPC.
   */
  private watched(frames: FrameStream): FrameStream {
    const noteFailure = (err: unknown): never => {
      if (refused(err)) this.paths.markNativeDown(this.address);
      throw err;
    };
    return {
      send: (body, handOver) => frames.send(body, handOver).catch(noteFailure),
      closeSend: () => frames.closeSend(),
      cancel: (err) => frames.cancel(err),
      [Symbol.asyncIterator]: () => {
        const it = frames[Symbol.asyncIterator]();
        return {
          next: () =>
            it.next().then((r) => {
              if (!r.done) this.proven = true;
              return r;
            }, noteFailure),
          return: (value?: unknown) =>
            it.return?.(value) ?? Promise.resolve({ done: true as const, value: undefined }),
        };
      },
    };
  }
}

function refused(err: unknown): boolean {
  return MicroError.is(err) && err.fault?.reason === 'refused' && err.fault.beforeHandler;
}
