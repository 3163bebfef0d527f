/**
 * Codecs turn request and response values into bytes and back.
 *
 * A codec is chosen per call by content type. The names are go-micro's gRPC content types, so a
 * Go peer and a tsmicro peer pick the same codec for the same header.
 */

/** What is being encoded, so a schema-driven codec (protobuf) can pick the message type. */
export interface CodecHint {
  /** `Handler.Method` or a broker topic. */
  endpoint: string;
  /** Which side of the endpoint the value belongs to. */
  kind: 'request' | 'response' | 'event';
}

/** Encodes and decodes message bodies. */
export interface Codec {
  /** Short name, as the gRPC content subtype: `json`, `proto`, `bytes`. */
  readonly name: string;
  /** The content type this codec answers to, e.g. `application/grpc+json`. */
  readonly contentType: string;
  /**
   * Value → bytes, a buffer of the caller's own: a stream hands it to its transport, which may
   * hold it until written. Throws when the value cannot be encoded.
   */
  encode(value: unknown, hint?: CodecHint): Uint8Array;
  /** Bytes → value. Throws on malformed input; the server turns that into a 400. */
  decode(bytes: Uint8Array, hint?: CodecHint): unknown;
}

/**
 * Content types that mean the same codec (go-micro client/grpc/codec.go). Plain
 * `application/grpc` is protobuf, as every gRPC client assumes.
 */
const ALIASES: Readonly<Record<string, string>> = {
  'application/grpc': 'proto',
  'application/grpc+proto': 'proto',
  'application/proto': 'proto',
  'application/protobuf': 'proto',
  'application/x-protobuf': 'proto',
  'application/grpc+json': 'json',
  'application/json': 'json',
  'application/grpc+bytes': 'bytes',
  'application/octet-stream': 'bytes',
};

/**
 * The codec name a content type stands for (`json`, `proto`, `bytes`), or the type itself if
 * unknown.
 */
export function codecNameOf(contentType: string): string {
  const base = contentType.split(';', 1)[0].trim().toLowerCase();
  return ALIASES[base] ?? base;
}

/**
 * The content type go-micro's rpc ("mucp") client and server use for a codec's: they map
 * `application/json` to plain JSON bodies and `application/protobuf` to plain protobuf bytes
 * (`DefaultCodecs`); the `grpc+` types are its gRPC codec, which expects framed bodies. Used on
 * the mucp wire, and for the events a client on it publishes (a go-micro rpc server's
 * subscriber cannot decode a `grpc+json` event).
 */
export function mucpContentType(contentType: string): string {
  switch (codecNameOf(contentType)) {
    case 'json':
      return 'application/json';
    case 'proto':
      return 'application/protobuf';
    case 'bytes':
      return 'application/octet-stream';
    default:
      return contentType;
  }
}

/** Finds a codec by content type or name among `codecs`. */
export function findCodec(codecs: readonly Codec[], contentTypeOrName: string): Codec | undefined {
  // Per call this is almost always the default codec by its own content type: skip the parsing.
  if (codecs[0]?.contentType === contentTypeOrName) return codecs[0];
  const name = codecNameOf(contentTypeOrName);
  for (const c of codecs) if (c.name === name || c.contentType === contentTypeOrName) return c;
  return undefined;
}
