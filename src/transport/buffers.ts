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

/** Copies of at most this many bytes are cut from a shared slab (see {@link copyOut}). */
const SLAB_COPY_MAX = 16 * 1024;
const SLAB_BYTES = 64 * 1024;
let slab = new ArrayBuffer(SLAB_BYTES);
let slabUsed = 0;

/**
 * A plain Uint8Array holding a copy of `bytes`, for bytes read into a buffer that is about to be
 * reused. Small copies are cut from a shared slab, as Buffer's pool does, because a fresh
 * ArrayBuffer per message costs more than the copy (an allocation, and a sweep when freed); a
 * copy kept alive keeps its slab alive, at most 64 KiB.
 */
export function copyOut(bytes: Uint8Array): Uint8Array {
  const n = bytes.byteLength;
  if (n > SLAB_COPY_MAX) return new Uint8Array(bytes);
  if (slabUsed + n > SLAB_BYTES) {
    slab = new ArrayBuffer(SLAB_BYTES);
    slabUsed = 0;
  }
  const out = new Uint8Array(slab, slabUsed, n);
  out.set(bytes);
  // Keeps the next copy 8-byte aligned, as Buffer's pool does.
  slabUsed = (slabUsed + n + 7) & ~7;
  return out;
}
