import {
  ServerCredentials,
  credentials as grpcCredentials,
  type ChannelCredentials,
  type ChannelOptions,
} from '@grpc/grpc-js';
import { InvalidOptionError, MicroError } from '../../errors.js';
import type { TlsOptions } from '../tls.js';
import { readTlsMaterial } from '../tls-material.js';
import type { Connection } from '../transport.js';

/**
 * TLS and mutual TLS for the gRPC transport: grpc-js credentials built from the shared
 * {@link TlsOptions} (read and checked by `readTlsMaterial`, as the native transport's are).
 */

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
  const { ca, cert, key, requireClientCert, serverName } = readTlsMaterial(opts, option);
  let channel: ChannelCredentials;
  let server: ServerCredentials | undefined;
  try {
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
    channelOptions: serverName
      ? {
          'grpc.ssl_target_name_override': serverName,
          'grpc.default_authority': serverName,
        }
      : {},
  };
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
