import {
  ServerCredentials,
  credentials as grpcCredentials,
  type ChannelCredentials,
  type ChannelOptions,
} from '@grpc/grpc-js';
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createSecureContext } from 'node:tls';
import { InvalidOptionError, MicroError } from '../../errors.js';
import type { Connection } from '../transport.js';

/**
 * TLS and mutual TLS for the gRPC transport. Certificates are PEM, given inline (`ca`, `cert`,
 * `key`) or as file paths (`caFile`, `certFile`, `keyFile`); files are read once, when the
 * transport is built, so a missing or unreadable file is an option error at construction, not a
 * failure on the first call.
 */

/** PEM text or bytes. */
export type Pem = string | Uint8Array;

/** TLS settings shared by a service's client channels and its server. */
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

/** What the gRPC transport builds from {@link TlsOptions}. */
export interface GrpcTlsCredentials {
  channel: ChannelCredentials;
  /** Extra channel options (the server-name override). */
  channelOptions: ChannelOptions;
  /** Undefined when no certificate and key were given: such a transport can only dial. */
  server: ServerCredentials | undefined;
}

/** Reads and checks `opts`, throwing {@link InvalidOptionError} for anything unusable. */
export function grpcTlsCredentials(opts: TlsOptions, option = 'tls'): GrpcTlsCredentials {
  if (typeof opts !== 'object' || opts === null)
    throw new InvalidOptionError(option, 'expected an object');
  const ca = pem(`${option}.ca`, opts.ca, opts.caFile);
  const cert = pem(`${option}.cert`, opts.cert, opts.certFile);
  const key = pem(`${option}.key`, opts.key, opts.keyFile);
  if ((cert === undefined) !== (key === undefined)) {
    throw new InvalidOptionError(
      cert ? `${option}.key` : `${option}.cert`,
      'cert and key go together',
    );
  }
  const requireClientCert = opts.requireClientCert ?? false;
  if (typeof requireClientCert !== 'boolean')
    throw new InvalidOptionError(`${option}.requireClientCert`, 'expected a boolean');
  if (requireClientCert && !ca)
    throw new InvalidOptionError(
      `${option}.ca`,
      'is required with requireClientCert (it verifies client certificates)',
    );
  if (requireClientCert && !cert)
    throw new InvalidOptionError(
      `${option}.cert`,
      'is required with requireClientCert (only a server asks for client certificates)',
    );
  if (
    opts.serverName !== undefined &&
    (typeof opts.serverName !== 'string' || opts.serverName === '')
  ) {
    throw new InvalidOptionError(`${option}.serverName`, 'expected a non-empty string');
  }
  let channel: ChannelCredentials;
  let server: ServerCredentials | undefined;
  try {
    // Parsed here so garbage fails at construction: OpenSSL silently ignores a CA bundle with no
    // certificate in it, and grpc-js would only load a bad key when the first call connects.
    if (ca) new X509Certificate(ca);
    if (cert) new X509Certificate(cert);
    createSecureContext({ ...(ca ? { ca } : {}), ...(cert && key ? { cert, key } : {}) });
    channel = grpcCredentials.createSsl(ca ?? null, key ?? null, cert ?? null);
    server =
      cert && key
        ? ServerCredentials.createSsl(
            ca ?? null,
            [{ cert_chain: cert, private_key: key }],
            requireClientCert,
          )
        : undefined;
  } catch (err) {
    // grpc-js parses the PEM here (node:tls createSecureContext): garbage is an option error.
    throw new InvalidOptionError(option, `unusable certificate or key: ${(err as Error).message}`);
  }
  return {
    channel,
    server,
    channelOptions: opts.serverName
      ? {
          'grpc.ssl_target_name_override': opts.serverName,
          'grpc.default_authority': opts.serverName,
        }
      : {},
  };
}

/** Inline PEM or the contents of `file`; never both. */
function pem(
  option: string,
  inline: Pem | undefined,
  file: string | undefined,
): Buffer | undefined {
  if (inline !== undefined && file !== undefined)
    throw new InvalidOptionError(option, `give ${option} or ${option}File, not both`);
  if (file !== undefined) {
    if (typeof file !== 'string' || file === '')
      throw new InvalidOptionError(`${option}File`, 'expected a file path');
    try {
      return readFileSync(file);
    } catch (err) {
      throw new InvalidOptionError(
        `${option}File`,
        `cannot read ${JSON.stringify(file)}: ${(err as Error).message}`,
      );
    }
  }
  if (inline === undefined) return undefined;
  if (typeof inline === 'string') return Buffer.from(inline);
  if (inline instanceof Uint8Array)
    return Buffer.from(inline.buffer, inline.byteOffset, inline.byteLength);
  throw new InvalidOptionError(option, 'expected PEM text or bytes');
}

/**
 * Wraps a TLS connection so that a connection that could not be set up says so: grpc-js reports
 * a refused handshake (no or wrong client certificate, untrusted server) as a bare
 * "No connection established … Failed to connect", the same text as a closed port.
 */
export function explainTlsFailures(conn: Connection): Connection {
  return {
    address: conn.address,
    stream: (head, signal) => conn.stream(head, signal),
    call: (head, body, signal) =>
      conn.call(head, body, signal).catch((err: unknown) => {
        if (
          !MicroError.is(err) ||
          err.fault?.beforeHandler !== true ||
          err.fault.reason === 'refused'
        )
          throw err;
        throw new MicroError(
          err.id,
          err.code,
          `TLS connection to ${conn.address} failed (untrusted server certificate, or the server refused this client's certificate): ${err.detail}`,
          err.status,
          { cause: err, fault: err.fault },
        );
      }),
  };
}
