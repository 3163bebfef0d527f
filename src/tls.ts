/**
 * `tsmicro/transport/tls`: the types of the transports' `tls` option, for code that builds TLS
 * settings apart from the transport it gives them to. Types only: how a transport turns them
 * into credentials is its own business, not public API.
 *
 * @packageDocumentation
 */
export type { Pem, TlsOptions } from './transport/grpc/tls.js';
