import { DEFAULTS } from '../../defaults.js';
import { checkInteger } from '../../options.js';
import type { Connection, Dispatcher, ListenOptions, Listener, Transport } from '../transport.js';
import { MucpConnection, type MucpClientConfig } from './client.js';
import { listenMucp } from './server.js';

/** Options for {@link mucpTransport}. */
export interface MucpTransportOptions {
  /** Largest message sent or received, bytes. @defaultValue `DEFAULTS.maxMessageBytes` (4 MiB) */
  maxMessageBytes?: number;
  /** An idle pooled connection is closed after this long, ms. @defaultValue `DEFAULTS.poolIdleMs` (60 s) */
  poolIdleMs?: number;
  /**
   * A connection not established this long fails its call with a 503 "refused" fault, which the
   * client retries elsewhere, ms. @defaultValue `DEFAULTS.dialTimeoutMs` (5 s)
   */
  dialTimeoutMs?: number;
  /** Idle connections kept per address, as go-micro's client pool size. @defaultValue 100 */
  poolSize?: number;
}

/** Node metadata key under which a node names the protocol its address speaks (go-micro's). */
export const MUCP_PROTOCOL = 'mucp';

/**
 * go-micro's default wire: its RPC protocol ("mucp") over its HTTP transport — what a go-micro
 * v5 service started with no flags serves and calls (`server.NewRPCServer`, `client.NewClient`,
 * `transport.NewHTTPTransport`). Each message is one HTTP/1.1 request or response on a
 * persistent connection, with go-micro's `Micro-*` headers; bodies are plain JSON
 * (`application/json`) or plain protobuf (`application/protobuf`); errors travel as go-micro's
 * error JSON in `Micro-Error`; the deadline as `Timeout` (ns); streams as a run of messages
 * ended by `EOS`. Nodes serving it say `transport=http`, `protocol=mucp`, `server=mucp`, as
 * go-micro's rpc server registers itself.
 *
 * Plain TCP only: go-micro's HTTP transport without TLS (its `Secure` option makes a self-signed
 * certificate no client verifies, which this does not imitate).
 */
export function mucpTransport(opts: MucpTransportOptions = {}): Transport {
  const config: MucpClientConfig = {
    maxMessageBytes:
      checkInteger('mucpTransport.maxMessageBytes', opts.maxMessageBytes, 1) ??
      DEFAULTS.maxMessageBytes,
    idleMs: checkInteger('mucpTransport.poolIdleMs', opts.poolIdleMs, 1) ?? DEFAULTS.poolIdleMs,
    dialTimeoutMs:
      checkInteger('mucpTransport.dialTimeoutMs', opts.dialTimeoutMs, 1) ?? DEFAULTS.dialTimeoutMs,
    poolSize: checkInteger('mucpTransport.poolSize', opts.poolSize, 0) ?? 100,
  };
  return new MucpTransport(config);
}

class MucpTransport implements Transport {
  /** go-micro's `transport.String()` for its HTTP transport. */
  readonly name = 'http';
  readonly protocol = MUCP_PROTOCOL;
  private readonly pool = new Map<string, MucpConnection>();

  constructor(private readonly config: MucpClientConfig) {}

  listen(address: string, dispatcher: Dispatcher, opts?: ListenOptions): Promise<Listener> {
    return listenMucp(address, dispatcher, {
      maxMessageBytes: opts?.maxMessageBytes ?? this.config.maxMessageBytes,
    });
  }

  dial(address: string): Connection {
    let conn = this.pool.get(address);
    if (conn === undefined) {
      conn = new MucpConnection(address, this.config);
      this.pool.set(address, conn);
    }
    return conn;
  }

  evict(address: string): void {
    this.pool.get(address)?.close();
    this.pool.delete(address);
  }

  close(): Promise<void> {
    for (const c of this.pool.values()) c.close();
    this.pool.clear();
    return Promise.resolve();
  }
}
