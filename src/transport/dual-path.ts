import { InvalidOptionError } from '../errors.js';
import { checkComponent, joinHostPort, parseAddress } from '../options.js';
import { grpcTransport } from './grpc.js';
import { nativeTransport } from './native.js';
import type { Connection, Dispatcher, ListenOptions, Listener, Transport } from './transport.js';

/**
 * Node metadata key under which a dual-path node advertises its native transport's port. The
 * host is the node address's host, so `advertise` and address rewriting apply to both paths.
 */
export const NATIVE_PORT_KEY = 'tsmicro-native-port';

/** Options for {@link dualPathTransport}. */
export interface DualPathOptions {
  /** The standard path, whose address is the node address. @defaultValue `grpcTransport()` */
  grpc?: Transport;
  /** The fast path, advertised in node metadata. @defaultValue `nativeTransport()` */
  native?: Transport;
  /** Port of the native listener; 0 picks a free one. @defaultValue 0 */
  nativePort?: number;
}

/**
 * Serves every request on two wires at once and calls over the fastest one a node offers.
 *
 * A server listens with both: gRPC at the node address (what go-micro and any gRPC peer dial)
 * and the native transport on a second port, advertised as the `tsmicro-native-port` node
 * metadata. A client dials the native port when the node advertises one and gRPC otherwise, so
 * tsmicro-to-tsmicro calls take the fast path and go-micro nodes still get gRPC. The transport's
 * name is `grpc`: that is what the node's `transport`/`protocol` metadata must say for Go peers.
 */
export function dualPathTransport(opts: DualPathOptions = {}): Transport {
  const grpc = checkComponent('dualPath.grpc', opts.grpc, ['listen', 'dial']) ?? grpcTransport();
  const native = checkComponent('dualPath.native', opts.native, ['listen', 'dial']) ?? nativeTransport();
  const nativePort = opts.nativePort ?? 0;
  if (!Number.isInteger(nativePort) || nativePort < 0 || nativePort > 65535) throw new InvalidOptionError('dualPath.nativePort', `expected a port number, got ${String(nativePort)}`);
  return new DualPathTransport(grpc, native, nativePort);
}

class DualPathTransport implements Transport {
  readonly name = 'grpc';
  /** gRPC address → native address, for the nodes dialled over native (so evict() reaches both). */
  private readonly nativeOf = new Map<string, string>();

  constructor(private readonly grpc: Transport, private readonly native: Transport, private readonly nativePort: number) {}

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
      close: async (graceMs) => { await Promise.all([slow.close(graceMs), fast.close(graceMs)]); },
    };
  }

  dial(address: string, metadata?: Readonly<Record<string, string>>): Connection {
    const port = metadata?.[NATIVE_PORT_KEY];
    if (port !== undefined) {
      const known = this.nativeOf.get(address);
      if (known !== undefined) return this.native.dial(known);
      const parsed = parseAddress(address);
      if (parsed && /^\d{1,5}$/.test(port)) {
        const fast = joinHostPort(parsed.host, Number(port));
        this.nativeOf.set(address, fast);
        return this.native.dial(fast);
      }
    }
    return this.grpc.dial(address);
  }

  evict(address: string): void {
    this.grpc.evict(address);
    const fast = this.nativeOf.get(address);
    if (fast !== undefined) {
      this.nativeOf.delete(address);
      this.native.evict(fast);
    }
  }

  async close(): Promise<void> {
    await Promise.all([this.grpc.close(), this.native.close()]);
  }
}
