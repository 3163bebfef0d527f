/** Views between Node Buffers and plain Uint8Arrays, without copying the bytes. */

/**
 * A plain Uint8Array over a Buffer's bytes, no copy (Buffer's `slice` shares memory, Uint8Array's
 * copies).
 */
export function view(buf: Buffer): Uint8Array {
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
}

/** A Buffer over a Uint8Array's bytes, no copy (what grpc-js serializers must return). */
export function toBuffer(body: Uint8Array): Buffer {
  return Buffer.isBuffer(body) ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
}
