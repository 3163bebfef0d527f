import type { Codec } from './codec.js';

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
      // Buffer.from slices small strings out of Node's shared pool; TextEncoder allocates a
      // fresh ArrayBuffer per call (measured about twice the cost).
      return Buffer.from(value === undefined ? 'null' : JSON.stringify(value), 'utf8');
    },
    decode(bytes: Uint8Array): unknown {
      // An empty body is what a Go client sends for an empty message.
      if (bytes.length === 0) return {};
      return JSON.parse(decoder.decode(bytes));
    },
  };
}
