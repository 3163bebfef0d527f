import { CLIENT_ERROR_ID, MicroError, SERVER_ERROR_ID } from '../../errors.js';
import { mucpContentType } from '../../codec/codec.js';
import { normalizeMetadata, type Metadata } from '../../metadata.js';
import type { RequestHead } from '../transport.js';
import { header, headerSafe, type HeaderList, type HttpMessage } from './http1.js';

/**
 * go-micro's RPC protocol ("mucp", go-micro.dev/v5 client/rpc_codec.go, server/rpc_codec.go,
 * server/rpc_server.go, transport/headers) as HTTP headers: which header carries what, and how
 * errors, deadlines and content types are written.
 */

/** Header names as go-micro writes them (Go's http canonicalizes `Micro-ID` to `Micro-Id`). */
export const H = Object.freeze({
  service: 'Micro-Service',
  endpoint: 'Micro-Endpoint',
  method: 'Micro-Method',
  id: 'Micro-Id',
  error: 'Micro-Error',
  stream: 'Micro-Stream',
  contentType: 'Content-Type',
  accept: 'Accept',
  /** The per-hop budget, whole nanoseconds (go-micro's client sends its connection timeout). */
  timeout: 'Timeout',
});

/** The `Micro-Error` value that ends a stream cleanly, both ways (go-micro's `lastStreamResponseError`). */
export const EOS = 'EOS';

/** What go-micro's rpc server assumes when a request names no content type. */
export const DEFAULT_CONTENT_TYPE = 'application/protobuf';

/**
 * Headers that are the protocol's, not the caller's metadata: never shown to handlers nor taken
 * from a caller (go-micro's server hands every header over; these only describe the hop).
 */
const PROTOCOL_HEADERS = new Set([
  'content-length',
  'transfer-encoding',
  'accept',
  'accept-encoding',
  'local',
  'remote',
]);

function isProtocolHeader(lower: string): boolean {
  return (
    PROTOCOL_HEADERS.has(lower) ||
    lower === 'micro-service' ||
    lower === 'micro-endpoint' ||
    lower === 'micro-method' ||
    lower === 'micro-id' ||
    lower === 'micro-error' ||
    lower === 'micro-stream' ||
    lower === 'micro-protocol' ||
    lower === 'micro-target' ||
    lower === 'micro-topic' ||
    lower.startsWith('x-micro-')
  );
}

/**
 * The headers of a request (or of one stream message) for `head`: the caller's metadata first,
 * then the protocol's, as go-micro's client copies metadata and then sets its own. Rejects
 * metadata that cannot be a header (a CR or LF would split the message).
 */
export function requestHeaders(
  head: RequestHead,
  id: string,
  now: number,
  stream?: string,
): HeaderList {
  const out: [string, string][] = [];
  for (const k of Object.keys(head.metadata)) {
    const v = head.metadata[k];
    if (isProtocolHeader(k) || k === 'timeout' || k === 'content-type') continue;
    if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(k) || !headerSafe(v))
      throw MicroError.badRequest(
        CLIENT_ERROR_ID,
        `metadata ${JSON.stringify(k)} cannot be sent as an HTTP header`,
      );
    out.push([k, v]);
  }
  const type = mucpContentType(head.contentType);
  out.push([H.contentType, type], [H.accept, type]);
  if (Number.isFinite(head.deadline))
    out.push([H.timeout, String(Math.max(1, Math.round(head.deadline - now)) * 1_000_000)]);
  out.push([H.service, head.service], [H.endpoint, head.endpoint], [H.method, head.endpoint]);
  out.push([H.id, id]);
  if (stream !== undefined) out.push([H.stream, stream]);
  return out;
}

/** What a request says about itself, or the MicroError (400) explaining why it cannot be served. */
export interface ParsedRequest {
  service: string;
  endpoint: string;
  contentType: string;
  metadata: Metadata;
  deadline: number;
  /** `Micro-Stream`: set on every message of a stream. */
  stream?: string;
  /** `Micro-Error`: `EOS` when a stream's client is done sending. */
  error?: string;
}

/** Reads a request's head as go-micro's server does (`X-` variants accepted, method = endpoint). */
export function parseRequest(m: HttpMessage, now: number): ParsedRequest | MicroError {
  const get = (name: string): string | undefined => {
    const v = header(m, name.toLowerCase());
    return v !== undefined && v !== '' ? v : header(m, `x-${name.toLowerCase()}`) || undefined;
  };
  const endpoint = get(H.endpoint) ?? get(H.method);
  const stream = get(H.stream);
  const error = get(H.error);
  if (endpoint === undefined && !(stream !== undefined && error !== undefined))
    return MicroError.badRequest(
      SERVER_ERROR_ID,
      'mucp request without Micro-Endpoint or Micro-Method header',
    );
  let deadline = Infinity;
  const timeout = header(m, 'timeout');
  if (timeout !== undefined && timeout !== '') {
    if (!/^\d{1,19}$/.test(timeout))
      return MicroError.badRequest(
        SERVER_ERROR_ID,
        `Timeout header ${JSON.stringify(timeout)} is not a whole number of nanoseconds`,
      );
    // 0 is go-micro's "no timeout" (ParseUint gives 0 and a zero-duration context would fail at once).
    const ns = Number(timeout);
    if (ns > 0) deadline = now + ns / 1_000_000;
  }
  const raw: Record<string, string> = {};
  for (const k of m.headers.keys()) if (!isProtocolHeader(k)) raw[k] = header(m, k) ?? '';
  const out: ParsedRequest = {
    service: get(H.service) ?? '',
    endpoint: endpoint ?? '',
    contentType: header(m, 'content-type') || DEFAULT_CONTENT_TYPE,
    metadata: normalizeMetadata(raw),
    deadline,
  };
  if (stream !== undefined) out.stream = stream;
  if (error !== undefined) out.error = error;
  return out;
}

/**
 * A MicroError as a header value: go-micro's error JSON, with every character outside printable
 * ASCII escaped (`\u00e9`) so the header stays one clean line whatever the detail holds.
 */
export function errorHeader(err: MicroError): string {
  return JSON.stringify(err.toJSON()).replace(
    /[^\x20-\x7e]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

/**
 * The error a `Micro-Error` value stands for: go-micro's JSON, or (a plain Go error's text)
 * a 500 carrying it, as go-micro's `errors.Parse` reads it.
 */
export function errorFromHeader(value: string): MicroError {
  return MicroError.fromJSON(value, CLIENT_ERROR_ID);
}
