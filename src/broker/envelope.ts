import type { BrokerMessage } from './broker.js';

/**
 * go-micro's wire form of a broker message. Its `broker.Message` struct has no JSON tags, so
 * Go's `encoding/json` writes the field names as declared and a `[]byte` body as standard
 * base64: `{"Header":{"Content-Type":"..."},"Body":"<base64>"}`. Writing exactly this lets Go
 * subscribers read our events, and reading it lets us read theirs.
 */

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });
// Go's base64.StdEncoding: padded, standard alphabet; Node's decoder would silently skip junk.
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** A payload that is not go-micro's envelope. The broker logs, counts and skips it. */
export class MalformedEnvelopeError extends Error {
  constructor(detail: string, options?: ErrorOptions) {
    super(`malformed broker message: ${detail}`, options);
    this.name = 'MalformedEnvelopeError';
  }
}

/** Encodes `message` as go-micro's JSON envelope. */
export function encodeEnvelope(message: BrokerMessage): Uint8Array {
  const body = Buffer.from(
    message.body.buffer,
    message.body.byteOffset,
    message.body.byteLength,
  ).toString('base64');
  return encoder.encode(JSON.stringify({ Header: message.header, Body: body }));
}

/**
 * Decodes go-micro's JSON envelope. Accepts what Go's `json.Unmarshal` accepts for
 * `broker.Message` that matters here: a missing or null `Header` / `Body` (Go's nil map and nil
 * slice) and field names in any letter case. Throws {@link MalformedEnvelopeError} otherwise.
 */
export function decodeEnvelope(data: Uint8Array): BrokerMessage {
  let parsed: unknown;
  try {
    parsed = JSON.parse(decoder.decode(data));
  } catch (err) {
    throw new MalformedEnvelopeError(`not JSON (${data.byteLength} bytes)`, { cause: err });
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    throw new MalformedEnvelopeError('not a JSON object');
  const fields = parsed as Record<string, unknown>;
  const header = field(fields, 'header');
  const body = field(fields, 'body');
  return { header: decodeHeader(header), body: decodeBody(body) };
}

function decodeHeader(value: unknown): Record<string, string> {
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value))
    throw new MalformedEnvelopeError('Header is not an object');
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(value)) {
    if (typeof v !== 'string')
      throw new MalformedEnvelopeError(`Header ${JSON.stringify(k)} is not a string`);
    out[k] = v;
  }
  return out;
}

function decodeBody(value: unknown): Uint8Array {
  if (value === undefined || value === null) return new Uint8Array(0);
  if (typeof value !== 'string' || !BASE64.test(value))
    throw new MalformedEnvelopeError('Body is not base64');
  const buf = Buffer.from(value, 'base64');
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
}

/** Go matches JSON keys to struct fields case-insensitively; an exact match wins. */
function field(obj: Record<string, unknown>, lower: 'header' | 'body'): unknown {
  const exact = lower === 'header' ? 'Header' : 'Body';
  if (exact in obj) return obj[exact];
  for (const key of Object.keys(obj)) if (key.toLowerCase() === lower) return obj[key];
  return undefined;
}
