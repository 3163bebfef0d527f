import type tls from 'node:tls';
import type { TlsOptions } from '../tls.js';
import { readTlsMaterial } from '../tls-material.js';

/**
 * TLS for the native transport: `node:tls` server and connection options built from the shared
 * {@link TlsOptions} (read and checked by `readTlsMaterial`, as the gRPC transport's are), so
 * both transports mean the same by the same object.
 */

/** What the native transport builds from {@link TlsOptions}. */
export interface NativeTls {
  /** Undefined when no certificate and key were given: such a transport can only dial. */
  server: tls.TlsOptions | undefined;
  client: tls.ConnectionOptions;
}

/** Reads and checks `opts`, throwing InvalidOptionError named after `option` when unusable. */
export function nativeTls(opts: TlsOptions, option: string): NativeTls {
  const { ca, cert, key, requireClientCert, serverName } = readTlsMaterial(opts, option);
  return {
    server:
      cert && key
        ? {
            cert,
            key,
            ...(ca ? { ca } : {}),
            // As gRPC's server credentials: ask for a client certificate only with mTLS, and
            // then refuse a client without one signed by `ca`.
            requestCert: requireClientCert,
            rejectUnauthorized: requireClientCert,
          }
        : undefined,
    client: {
      ...(ca ? { ca } : {}),
      ...(cert && key ? { cert, key } : {}),
      // The name checked against the server certificate (node:tls checks `servername`, else the
      // dialled host); left out so the session's own choice from the host applies.
      ...(serverName ? { servername: serverName } : {}),
    },
  };
}
