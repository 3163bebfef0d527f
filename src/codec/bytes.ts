import type { Codec } from './codec.js';

/**
 * Raw bytes codec (`application/grpc+bytes`): the body is passed through untouched, for callers
 * that do their own serialisation. Values must be `Uint8Array` (Buffers are Uint8Arrays).
 */
export function bytesCodec(): Codec {
  return {
    name: 'bytes',
    contentType: 'application/grpc+bytes',
    encode(value: unknown): Uint8Array {
      if (value instanceof Uint8Array) return value;
      throw new TypeError(
        `bytes codec encodes Uint8Array values only, got ${value === null ? 'null' : typeof value}`,
      );
    },
    decode(bytes: Uint8Array): Uint8Array {
      return bytes;
    },
  };
}
