/**
 * The `tls` option of the gRPC and native transports: one shape for both, so a service serving
 * both wires (dual-path) hands each the same object. Certificates are PEM, given inline (`ca`,
 * `cert`, `key`) or as file paths (`caFile`, `certFile`, `keyFile`); files are read once, when the
 * transport is built, so a missing or unreadable file is an option error at construction, not a
 * failure on the first call.
 *
 * This file holds only what users write (it is the `tsmicro/transport/tls` subpath); reading and
 * checking live in `tls-material.ts`, each transport's own credentials beside the transport.
 */

/** PEM text or bytes. */
export type Pem = string | Uint8Array;

/**
 * TLS settings of one transport, used both when it listens and when it dials. A transport given
 * `tls` without `cert` and `key` can dial TLS servers but refuses to listen.
 */
export interface TlsOptions {
  /**
   * CA certificate(s) that sign the peer's certificate: the client verifies servers with it, and
   * (with `requireClientCert`) the server verifies clients with it.
   * @defaultValue Node's bundled public roots (client side); required with `requireClientCert`
   */
  ca?: Pem;
  /** Path of a PEM file holding `ca`. */
  caFile?: string;
  /**
   * This side's certificate chain: required to listen; on a client it is presented to servers
   * that ask for one (mTLS).
   */
  cert?: Pem;
  /** Path of a PEM file holding `cert`. */
  certFile?: string;
  /** Private key of `cert`. */
  key?: Pem;
  /** Path of a PEM file holding `key`. */
  keyFile?: string;
  /**
   * Server side: refuse clients that do not present a certificate signed by `ca` (mutual TLS).
   * @defaultValue false
   */
  requireClientCert?: boolean;
  /**
   * Client side: the name the server certificate must carry, instead of the dialled host
   * (useful when nodes register IP addresses but certificates name the service).
   */
  serverName?: string;
}
