import { Metadata, status as GrpcStatus, type StatusObject } from '@grpc/grpc-js';
import {
  CLIENT_ERROR_ID,
  MicroError,
  codeFromGrpcStatus,
  grpcStatusFromCode,
  type MicroErrorJSON,
  type TransportFault,
} from '../../errors.js';
import { DETAILS_KEY, decodeErrorDetails, encodeErrorDetails } from './error-details.js';

/**
 * MicroError ⇄ gRPC status, both directions (reference §5.4). The server puts go-micro's error
 * JSON in `grpc-message`; the client reads it back, and classifies the statuses grpc-js
 * synthesises itself into transport faults.
 */

/**
 * The status a server sends for `err`: code from the shared table, go-micro's JSON as the
 * message, and the same error as the `errors.Error` detail of `grpc-status-details-bin` (what Go
 * peers read first, and what any gRPC client can decode with the standard Status type).
 */
export function statusFromError(err: MicroError): Partial<StatusObject> {
  const code = grpcStatusFromCode(err.code);
  const json = err.toJSON();
  const message = JSON.stringify(json);
  const metadata = new Metadata();
  metadata.set(DETAILS_KEY, encodeErrorDetails(code, message, json));
  return { code, details: message, metadata };
}

/** A status as grpc-js reports it on the client (ServiceError or the 'status' event). */
export type ReceivedStatus = Pick<StatusObject, 'code' | 'details'> & {
  metadata?: { getMap(): Record<string, unknown>; get?(key: string): unknown[] } | null;
};

/**
 * Turns a non-OK status the client received into a MicroError.
 *
 * 1. The `errors.Error` detail of `grpc-status-details-bin`, else go-micro JSON in the message
 *    with a code > 0 → that error, exactly (the peer's answer; go-micro reads them in that order).
 * 2. RESOURCE_EXHAUSTED saying "larger than": grpc-js's own size checks, on either side
 *    ("Attempted to send message with a size larger than N", "Received message larger than
 *    max", "Sent message larger than max") → 413, not a fault: another node would refuse too.
 * 3. Otherwise classify the statuses grpc-js makes up itself — see {@link faultOf}.
 * 4. Anything else → the code mapped back from the gRPC status (go-micro v5), id go.micro.client.
 *
 * A call the caller cancelled is not decoded here: it is `cancelledError()` (transport/errors.ts).
 */
export function errorFromStatus(st: ReceivedStatus, cause?: unknown): MicroError {
  const options = cause === undefined ? {} : { cause };
  const wire = detailsOf(st) ?? parseMicroJSON(st.details);
  if (wire) return MicroError.fromJSON(wire);
  if (st.code === GrpcStatus.RESOURCE_EXHAUSTED && /larger than/i.test(st.details)) {
    return new MicroError(CLIENT_ERROR_ID, 413, st.details, undefined, options);
  }
  const fault = faultOf(st);
  if (fault) {
    const code = fault.reason === 'timeout' ? 408 : 503;
    return new MicroError(
      CLIENT_ERROR_ID,
      code,
      st.details || GrpcStatus[st.code] || 'transport failure',
      undefined,
      { ...options, fault },
    );
  }
  return new MicroError(
    CLIENT_ERROR_ID,
    codeFromGrpcStatus(st.code),
    st.details,
    undefined,
    options,
  );
}

/**
 * Which transport fault a status stands for, if any. grpc-js exposes no flag saying whether a
 * request left the process (its internal "progress" field is stripped before the status reaches
 * the caller), so this reads what it does expose, as observed with grpc-js 1.14:
 *
 * - "never sent": a failed pick — no HTTP/2 stream was ever opened — is the only case grpc-js
 *   reports with fixed texts: UNAVAILABLE "No connection established. Last error: …" (the
 *   channel is in TRANSIENT_FAILURE: refused, reset while connecting, DNS…) and "Channel closed
 *   before call started". Those are `beforeHandler: true` (reason 'refused' when the last error
 *   was ECONNREFUSED).
 * - "answered by the peer": a trailers-only response carries the peer's headers (content-type at
 *   least) in the status metadata, while every status grpc-js synthesises locally has empty
 *   metadata. Such a status is the peer's answer, not a fault.
 * - DEADLINE_EXCEEDED without go-micro JSON: grpc-js's own timer (or the peer's grpc-timeout
 *   timer, which fires at the same instant) → 'timeout'.
 * - any other UNAVAILABLE / INTERNAL / CANCELLED with empty metadata: the stream existed and
 *   then died — "Connection dropped" (socket closed, e.g. the server process was killed),
 *   "read ECONNRESET", "Received RST_STREAM with code …" — so the handler may have run:
 *   `beforeHandler: false`, reason 'reset'. A peer that sent such a status after headers cannot
 *   be told apart; treating it as a reset is the conservative reading (retried only when
 *   idempotent).
 *
 * The transport tests pin these texts, so a grpc-js upgrade that changes them fails loudly.
 */
export function faultOf(st: ReceivedStatus): TransportFault | undefined {
  if (
    st.code === GrpcStatus.UNAVAILABLE &&
    (st.details.startsWith('No connection established') ||
      st.details === 'Channel closed before call started')
  ) {
    return {
      beforeHandler: true,
      reason: /ECONNREFUSED/.test(st.details) ? 'refused' : 'unavailable',
    };
  }
  if (st.code === GrpcStatus.DEADLINE_EXCEEDED) return { beforeHandler: false, reason: 'timeout' };
  const answered = st.metadata != null && Object.keys(st.metadata.getMap()).length > 0;
  if (answered) return undefined;
  if (
    st.code === GrpcStatus.UNAVAILABLE ||
    st.code === GrpcStatus.INTERNAL ||
    st.code === GrpcStatus.CANCELLED
  ) {
    return { beforeHandler: false, reason: 'reset' };
  }
  return undefined;
}

/** The go-micro error in the status's `grpc-status-details-bin` trailer, if any. */
function detailsOf(st: ReceivedStatus): MicroErrorJSON | undefined {
  const raw = st.metadata?.get?.(DETAILS_KEY)[0];
  return raw instanceof Uint8Array ? decodeErrorDetails(raw) : undefined;
}

/** go-micro's error JSON when `text` is one with a positive code, else undefined. */
function parseMicroJSON(text: string): MicroErrorJSON | undefined {
  if (!text.startsWith('{')) return undefined;
  try {
    const obj = JSON.parse(text) as Record<string, unknown>;
    return typeof obj.code === 'number' && Number.isInteger(obj.code) && obj.code > 0
      ? (obj as unknown as MicroErrorJSON)
      : undefined;
  } catch {
    return undefined;
  }
}
