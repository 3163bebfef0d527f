import type { Codec } from './codec.js';

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

/**
 * JSON codec (`application/grpc+json`), the zero-setup default. Encodes `undefined` as `null`;
 * rejects invalid UTF-8 and malformed JSON.
 */
export function jsonCodec(): Codec {
  return {
    name: 'json',
    contentType: 'application/grpc+json',
    encode(value: unknown): Uint8Array {
      return encoder.encode(value === undefined ? 'null' : JSON.stringify(value));
    },
    decode(bytes: Uint8Array): unknown {
      // An empty body is what a Go client sends for an empty message.
      if (bytes.length === 0) return {};
      return JSON.parse(decoder.decode(bytes));
    },
  };
}
