import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createSecureContext } from 'node:tls';
import { InvalidOptionError } from '../errors.js';
import type { Pem, TlsOptions } from './tls.js';

/**
 * Reading and checking of {@link TlsOptions}, shared by the gRPC and native transports: each
 * builds its own credentials from the checked material. Not part of the public surface.
 */

/** {@link TlsOptions} read and checked: PEM as bytes, defaults applied. */
export interface TlsMaterial {
  ca: Buffer | undefined;
  cert: Buffer | undefined;
  key: Buffer | undefined;
  requireClientCert: boolean;
  serverName: string | undefined;
}

const KNOWN_KEYS: ReadonlySet<string> = new Set<keyof TlsOptions>([
  'ca',
  'caFile',
  'cert',
  'certFile',
  'key',
  'keyFile',
  'requireClientCert',
  'serverName',
]);

/**
 * Reads `opts` (files included) and checks it, throwing {@link InvalidOptionError} named after
 * `option` for anything unusable: so a bad certificate fails when the transport is built.
 */
export function readTlsMaterial(opts: TlsOptions, option: string): TlsMaterial {
  if (typeof opts !== 'object' || opts === null || Array.isArray(opts))
    throw new InvalidOptionError(option, 'expected an object');
  // An unknown key is a typo, or the native transport's old `{ server, client }` shape: both
  // would otherwise pass silently and fail at the first connection.
  for (const k of Object.keys(opts)) {
    if (!KNOWN_KEYS.has(k))
      throw new InvalidOptionError(
        `${option}.${k}`,
        `unknown TLS option (expected ${[...KNOWN_KEYS].join(', ')})`,
      );
  }
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
  try {
    // Parsed here so garbage fails at construction: OpenSSL silently ignores a CA bundle with no
    // certificate in it, and a bad key would otherwise only show when the first call connects.
    if (ca) new X509Certificate(ca);
    if (cert) new X509Certificate(cert);
    createSecureContext({ ...(ca ? { ca } : {}), ...(cert && key ? { cert, key } : {}) });
  } catch (err) {
    throw new InvalidOptionError(option, `unusable certificate or key: ${(err as Error).message}`);
  }
  return { ca, cert, key, requireClientCert, serverName: opts.serverName };
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
